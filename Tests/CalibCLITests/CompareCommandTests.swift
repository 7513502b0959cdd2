import CalibCLI
import CalibCore
import CalibFormats
import CalibStore
import CalibTestSupport
import Foundation
import Testing

@Suite struct CompareCommandTests {
  /// The bundled sample recorded as "w8a8", replayed as "mse" (observer mse).
  final class Runs: Sendable {
    let dir: TemporaryDirectory
    let store: String

    init(recipe: String = "w8a8-static.yaml") async throws {
      dir = try TemporaryDirectory()
      store = dir.path("s.sqlite")
      let r = await calib(["record", store, "--run", "w8a8", "--recipe", BundledSample.recipe(recipe), "--weights", BundledSample.weights] + BundledSample.steps)
      #expect(r.exitCode == 0, "\(r.stderr)")
      let p = await calib(["replay", store, "--from", "w8a8", "--name", "mse", "--observer", "mse", "-q"])
      #expect(p.exitCode == 0, "\(p.stderr)")
    }
  }

  @Test func diffExitCodesFollowDiff1() async throws {
    let runs = try await Runs()
    let same = await calib(["diff", runs.store, "w8a8", "w8a8"])
    #expect(same.exitCode == 0)
    #expect(same.stderr == "w8a8 vs w8a8: 15 same, 0 changed, 0 only in A, 0 only in B, 0 shape mismatch\n")
    let changed = await calib(["diff", runs.store, "w8a8", "mse"])
    #expect(changed.exitCode == 1)
    let trouble = await calib(["diff", runs.store, "w8a8", "nope"])
    #expect(trouble.exitCode == 2)
    #expect(trouble.stderr.contains("run \"nope\" not found"))
    let badStore = await calib(["diff", runs.dir.path("missing.sqlite"), "a", "b"])
    #expect(badStore.exitCode == 2)
  }

  @Test func diffFormatsFiltersAndSorting() async throws {
    let runs = try await Runs()
    let json = await calib(["diff", runs.store, "w8a8", "mse", "--only-changed", "--base-name", "input", "--format", "json", "--sort", "max_rel"])
    let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
    #expect(rows.count == 6)
    #expect(rows.allSatisfy { $0["base_name"] as? String == "input" && $0["status"] as? String == "changed" })
    let rel = rows.compactMap { $0["max_rel_dscale"] as? Double }
    #expect(rel == rel.sorted(by: >))
    #expect((rows.first?["args_differences"] as? [String]) == ["observer: \"minmax\" -> \"mse\""])
    let csv = await calib(["diff", runs.store, "w8a8", "mse", "--module", "*.query", "--format", "csv"])
    let lines = csv.stdout.split(separator: "\n")
    #expect(lines.count == 3)
    #expect(lines[0].hasPrefix("module,base,status,observer_a,observer_b,args,"))
    let table = await calib(["diff", runs.store, "w8a8", "mse", "--module", "*.query", "--verbose"])
    #expect(table.stdout.contains("\"num_bits\":8"))
    // Tolerances: a huge rtol makes every scale the same.
    let tolerant = await calib(["diff", runs.store, "w8a8", "mse", "--rtol", "1", "--base-name", "input"])
    #expect(tolerant.exitCode == 0, "\(tolerant.stderr)")
  }

  @Test func diffMetricsMatchADirectComputation() async throws {
    let runs = try await Runs()
    let json = await calib(["diff", runs.store, "w8a8", "mse", "--metrics", "--module", "encoder.layer.0.output.dense", "--base-name", "input", "--format", "json"])
    let row = try #require((try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])?.first)
    let store = try CalibrationStore(path: runs.store, readOnly: true)
    for (run, key) in [("w8a8", "a"), ("mse", "b")] {
      let entry = try #require(try store.finalQParams(ofRun: run).first { $0.module == "encoder.layer.0.output.dense" && $0.baseName == .input })
      let args = try JSONDecoder().decode(QuantizationArgs.self, from: Data(try #require(entry.argsJSON).utf8))
      var signal = 0.0
      var noise = 0.0
      var count = 0
      for sample in try store.samples(ofRecording: "w8a8") where sample.module == entry.module && sample.baseName == .input {
        let x = try store.sampleTensor(sample)
        let s = try #require(entry.parameters.scale).values[0]
        for v in x.values {
          // int8 symmetric per-tensor QDQ written out by hand.
          let q = min(max((v / s + 0).rounded(.toNearestOrEven), -128), 127)
          let d = Double((q - 0) * s) - Double(v)
          signal += Double(v) * Double(v)
          noise += d * d
          count += 1
        }
      }
      #expect(args.numBits == 8 && args.strategy == .tensor)
      let mse = try #require(row["mse_\(key)"] as? Double)
      let sqnr = try #require(row["sqnr_\(key)_db"] as? Double)
      #expect(abs(mse - noise / Double(count)) <= 1e-12 * max(1, mse))
      #expect(abs(sqnr - 10 * log10(signal / noise)) < 1e-9)
    }
    #expect(row["winner"] as? String == "B")
  }

  @Test func rankOrdersBySQNR() async throws {
    let runs = try await Runs()
    await calibSucceeds(["replay", runs.store, "--from", "w8a8", "--name", "int4", "--set", "num_bits=4", "-q"])
    let json = await calibSucceeds(["rank", runs.store, "w8a8", "mse", "int4", "--format", "json"])
    let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
    let pairs = try #require(object["pairs"] as? [[String: Any]])
    #expect(pairs.count == 15)
    for p in pairs {
      let ranking = try #require(p["ranking"] as? [[String: Any]])
      let sqnr = ranking.compactMap { $0["sqnr_db"] as? Double }
      #expect(sqnr == sqnr.sorted(by: >))
      #expect(ranking.last?["run"] as? String == "int4", "4-bit should quantize worst")
    }
    let summary = try #require(object["summary"] as? [[String: Any]])
    #expect(summary.map { $0["run"] as? String } == ["mse", "w8a8", "int4"])
    #expect(summary.map { $0["wins"] as? Int ?? -1 }.reduce(0, +) == 15)
    let table = await calib(["rank", runs.store, "w8a8", "mse", "--base-name", "q"])
    #expect(table.stdout.hasPrefix("module                          base  rank  run   sqnr_db  mse\n") || table.stdout.contains("rank"))
    #expect(await calib(["rank", runs.store, "w8a8"]).exitCode == 64)
  }

  @Test func exportUsesCompressedTensorsNamesAndDtypes() async throws {
    let runs = try await Runs(recipe: "nvfp4.yaml")
    let out = runs.dir.path("nvfp4.safetensors")
    #expect(await calib(["export", runs.store, "w8a8", out]).exitCode == 0)
    let file = try SafetensorsFile(path: out)
    let names = Dictionary(uniqueKeysWithValues: file.entries.map { ($0.name, $0) })
    let scale = try #require(names["encoder.layer.0.output.dense.weight_scale"])
    #expect(scale.dtype == .f8E4M3 && scale.shape == [384, 96])
    #expect(names["encoder.layer.0.output.dense.weight_global_scale"]?.dtype == .f32)
    #expect(names["encoder.layer.0.output.dense.weight_global_scale"]?.shape == [1])
    #expect(names["encoder.layer.0.output.dense.input_global_scale"]?.dtype == .f32)
    #expect(names["encoder.layer.0.output.dense.input_scale"] == nil, "local dynamic inputs have no static scale")
    #expect(names.keys.allSatisfy { !$0.hasSuffix("zero_point") }, "symmetric schemes export no zero points")

    // Asymmetric int4 with the model dtype: zero points and bf16 scales.
    await calibSucceeds(["replay", runs.store, "--from", "w8a8", "--name", "asym", "--recipe", BundledSample.recipe("w4a16.yaml"), "--set", "symmetric=false", "-q"])
    let asym = runs.dir.path("asym.safetensors")
    #expect(await calib(["export", runs.store, "asym", asym, "--scale-dtype", "model"]).exitCode == 0)
    let a = try SafetensorsFile(path: asym)
    #expect(a.entry(named: "encoder.layer.0.output.dense.weight_scale")?.dtype == .bf16)
    #expect(a.entry(named: "encoder.layer.0.output.dense.weight_zero_point")?.dtype == .i8)
    let json = await calib(["export", runs.store, "asym", "-", "--format", "json"])
    let list = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
    #expect(list.contains { $0["name"] as? String == "encoder.layer.0.output.dense.weight_zero_point" })
    // Safetensors are binary: '-' is refused, not written as a file named '-'.
    let dash = await calib(["export", runs.store, "asym", "-"])
    #expect(dash.exitCode == 64 && dash.stderr.contains("'-' is stdout, which takes JSON only: add --format json"))
    #expect(!FileManager.default.fileExists(atPath: "-"))
  }

  @Test(arguments: ["w8a8-static.yaml", "nvfp4.yaml", "w4a16.yaml"])
  func exportImportRoundTripIsTheSame(recipe: String) async throws {
    let runs = try await Runs(recipe: recipe)
    for run in ["w8a8", "mse"] {
      let out = runs.dir.path("\(run).safetensors")
      #expect(await calib(["export", runs.store, run, out]).exitCode == 0)
      let imported = await calib(["import-qparams", runs.store, "--run", "imported-\(run)", out])
      #expect(imported.exitCode == 0, "\(imported.stderr)")
      let diff = await calib(["diff", runs.store, run, "imported-\(run)"])
      #expect(diff.exitCode == 0, "\(diff.stdout)")
      #expect(diff.stderr.contains(" 0 changed, 0 only in A, 0 only in B, 0 shape mismatch"))
    }
    // The imported run carries the arguments, so metrics work against it too.
    let metrics = await calib(["diff", runs.store, "w8a8", "imported-w8a8", "--metrics", "--format", "json"])
    let rows = try #require(try JSONSerialization.jsonObject(with: Data(metrics.stdout.utf8)) as? [[String: Any]])
    #expect(rows.allSatisfy { $0["winner"] as? String == "tie" })
  }

  @Test func shardedCheckpointImport() async throws {
    let runs = try await Runs()
    let out = runs.dir.path("all.safetensors")
    await calibSucceeds(["export", runs.store, "w8a8", out])
    // Split into two shards plus an index, with extra non-quantization tensors.
    let all = try SafetensorsFile(path: out)
    let ckpt = runs.dir.url.appendingPathComponent("ckpt")
    try FileManager.default.createDirectory(at: ckpt, withIntermediateDirectories: true)
    var shards = [SafetensorsWriter(metadata: all.metadata), SafetensorsWriter(metadata: all.metadata)]
    var weightMap: [String: String] = [:]
    for (i, e) in all.entries.enumerated() {
      shards[i % 2].append(RawTensor(name: e.name, dtype: e.dtype, shape: e.shape, bytes: try all.rawBytes(of: e.name)))
      weightMap[e.name] = "model-0000\(i % 2 + 1)-of-00002.safetensors"
    }
    shards[0].append(name: "lm_head.weight", tensor: Tensor(shape: [2, 2], repeating: 1))
    shards[1].append(name: "embed.weight", tensor: Tensor(shape: [2, 2], repeating: 1))
    weightMap["lm_head.weight"] = "model-00001-of-00002.safetensors"
    weightMap["embed.weight"] = "model-00002-of-00002.safetensors"
    for (i, shard) in shards.enumerated() {
      try shard.write(to: ckpt.appendingPathComponent("model-0000\(i + 1)-of-00002.safetensors").path)
    }
    let index = ckpt.appendingPathComponent("model.safetensors.index.json")
    try JSONSerialization.data(withJSONObject: ["metadata": [:], "weight_map": weightMap]).write(to: index)
    let r = await calib(["import-qparams", runs.store, "--run", "sharded", index.path])
    #expect(r.exitCode == 0, "\(r.stderr)")
    #expect(r.stderr.contains("15 module/base pairs from 15 tensors in 2 file(s); ignored 2 other tensors"))
    #expect(await calib(["diff", runs.store, "w8a8", "sharded"]).exitCode == 0)
  }

  struct Malformed: Sendable, CustomTestStringConvertible {
    let id: String
    let tensors: [RawTensor]
    let message: String
    var testDescription: String { id }
  }

  static let malformed: [Malformed] = [
    Malformed(id: "bool scale", tensors: [RawTensor(name: "m.weight_scale", dtype: .bool, shape: [2], bytes: [1, 0])], message: "has dtype BOOL"),
    Malformed(id: "two global scales", tensors: [RawTensor(name: "m.weight_global_scale", tensor: Tensor(shape: [2], values: [1, 2]))], message: "a global scale has 1"),
    Malformed(id: "zero point without scale", tensors: [RawTensor(name: "m.input_zero_point", tensor: Tensor(shape: [1], values: [0]), as: .i8)], message: "has no matching scale"),
    Malformed(id: "zero point shape", tensors: [
      RawTensor(name: "m.weight_scale", tensor: Tensor(shape: [4, 1], repeating: 1)),
      RawTensor(name: "m.weight_zero_point", tensor: Tensor(shape: [2, 1], repeating: 0), as: .i8),
    ], message: "has shape [2, 1] but the scale has [4, 1]"),
    Malformed(id: "integer scale", tensors: [RawTensor(name: "m.weight_scale", tensor: Tensor(shape: [1], values: [3]), as: .i32)], message: "has integer dtype I32"),
    Malformed(id: "no parameters", tensors: [RawTensor(name: "m.weight", tensor: Tensor(shape: [1], values: [3]))], message: "no quantization parameters"),
  ]

  @Test(arguments: malformed)
  func malformedCheckpointsAreErrors(_ c: Malformed) async throws {
    let dir = try TemporaryDirectory()
    let path = dir.path("ckpt.safetensors")
    try SafetensorsWriter(tensors: c.tensors).write(to: path)
    let store = dir.path("s.sqlite")
    let r = await calib(["import-qparams", store, "--run", "x", path])
    #expect(r.exitCode == 1)
    #expect(r.stderr.contains(c.message), "\(r.stderr)")
    #expect(!FileManager.default.fileExists(atPath: store), "a refused checkpoint creates no store")
  }
}
