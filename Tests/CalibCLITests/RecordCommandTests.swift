import CalibCLI
import CalibCore
import CalibFormats
import CalibStore
import CalibTestSupport
import Foundation
import Testing

@Suite struct RecordCommandTests {
  private func recordSample(_ store: String, run: String = "w8a8", recipe: String = "w8a8-static.yaml") async -> CLIResult {
    await calib(["record", store, "--run", run, "--recipe", BundledSample.recipe(recipe), "--weights", BundledSample.weights] + BundledSample.steps)
  }

  @Test func everySubcommandHasAnAbstractAndIsInTheReadme() throws {
    let readme = try String(contentsOf: repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
    for command in CalibCommand.configuration.subcommands {
      let config = command.configuration
      #expect(!config.abstract.isEmpty)
      let name = config.commandName ?? String(describing: command).lowercased()
      #expect(readme.contains("`\(name) "), "README does not document '\(name)'")
    }
  }

  @Test(arguments: ["w8a8-static.yaml", "w4a16.yaml", "fp8.yaml", "nvfp4.yaml"])
  func bundledRecipesRecordAndShow(recipe: String) async throws {
    let dir = try TemporaryDirectory()
    let store = dir.path("s.sqlite")
    let r = await recordSample(store, recipe: recipe)
    #expect(r.exitCode == 0, "\(r.stderr)")
    #expect(r.stderr.contains("Recorded run w8a8"))
    let runs = await calib(["runs", store, "--format", "json"])
    let list = try #require(try JSONSerialization.jsonObject(with: Data(runs.stdout.utf8)) as? [[String: Any]])
    #expect(list.first?["status"] as? String == "complete")
    #expect(list.first?["steps"] as? Int == 3)
    let show = await calib(["show", store, "w8a8", "--format", "json", "--steps"])
    let entries = try #require(try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [[String: Any]])
    #expect(!entries.isEmpty)
    for e in entries {
      #expect(Set(e.keys).isSuperset(of: ["module", "base_name", "observer", "args", "scale", "zero_point", "global_scale", "steps"]))
      #expect(e["args"] is [String: Any])
      if let scale = e["scale"] as? [String: Any] {
        let shape = try #require(scale["shape"] as? [Int])
        #expect((scale["values"] as? [Any])?.count == shape.reduce(1, *))
      }
    }
    if recipe == "nvfp4.yaml" {
      let weight = try #require(entries.first { $0["base_name"] as? String == "weight" })
      #expect(weight["global_scale"] is [String: Any])
      let input = try #require(entries.first { $0["base_name"] as? String == "input" })
      #expect(input["scale"] is NSNull, "local dynamic inputs keep only a global scale")
    }
  }

  @Test func tableAndCSVOutputs() async throws {
    let dir = try TemporaryDirectory()
    let store = dir.path("s.sqlite")
    _ = await recordSample(store)
    let table = await calib(["runs", store])
    #expect(table.stdout.hasPrefix("name  kind      parent  status    arithmetic  modules  steps  sample_bytes  created\n"))
    let csv = await calib(["runs", store, "--format", "csv"])
    #expect(csv.stdout.hasPrefix("name,kind,parent,status,arithmetic,modules,steps,sample_bytes,created\nw8a8,recorded,-,complete,model,7,3,"))
    let show = await calib(["show", store, "w8a8", "--module", "*.self", "--base-name", "k", "--format", "csv"])
    #expect(show.stdout.split(separator: "\n").count == 2)
    // The bundled sample is bf16: model arithmetic gives a bf16 scale.
    #expect(show.stdout.contains("encoder.layer.0.attention.self,k,static_minmax,final,[1],bfloat16,0.016723633,"))
  }

  @Test func checkPassesAndDetectsCorruption() async throws {
    let dir = try TemporaryDirectory()
    let store = dir.path("s.sqlite")
    _ = await recordSample(store)
    #expect(await calib(["check", store]).exitCode == 0)
    // Flip bytes inside one sample's payload: the checksum no longer matches.
    try corruptOneSample(store)
    let r = await calib(["check", store])
    #expect(r.exitCode == 1)
    #expect(r.stdout.contains("checksum mismatch"))
  }

  @Test func resumeAndReplaceAndRm() async throws {
    let dir = try TemporaryDirectory()
    let store = dir.path("s.sqlite")
    _ = await recordSample(store)
    let again = await recordSample(store)
    #expect(again.exitCode == 1)
    #expect(again.stderr.contains("run \"w8a8\" already exists"))
    let replaced = await calib(["record", store, "--replace", "--run", "w8a8", "--recipe", BundledSample.recipe("fp8.yaml"), "--weights", BundledSample.weights] + BundledSample.steps)
    #expect(replaced.exitCode == 0)
    let resumeComplete = await calib(["record", store, "--resume", "--run", "w8a8"] + BundledSample.steps)
    #expect(resumeComplete.stderr.contains("cannot be resumed"))
    #expect(await calib(["rm", store, "w8a8"]).exitCode == 0)
    #expect(try CalibrationStore(path: store, readOnly: true).runs().isEmpty)
  }

  @Test func nonFiniteSamplesAreRefusedUnlessAllowed() async throws {
    let dir = try TemporaryDirectory()
    var writer = SafetensorsWriter(metadata: [:])
    writer.append(name: "m.input", tensor: Tensor(shape: [1, 2, 4], values: [1, 2, .nan, 4, 5, .infinity, 7, 8]))
    let step = dir.path("step.safetensors")
    try writer.write(to: step)
    var weights = SafetensorsWriter(metadata: [:])
    weights.append(name: "m.weight", tensor: Tensor(shape: [4, 4], repeating: 0.5))
    try weights.write(to: dir.path("w.safetensors"))
    let recipe = dir.path("r.yaml")
    try "config_groups: {g: {targets: [Linear], input_activations: {num_bits: 8, strategy: tensor}}}".write(toFile: recipe, atomically: true, encoding: .utf8)
    let store = dir.path("s.sqlite")
    let refused = await calib(["record", store, "--run", "a", "--recipe", recipe, "--weights", dir.path("w.safetensors"), step])
    #expect(refused.exitCode == 1)
    #expect(refused.stderr.contains("'m.input' holds 1 NaN and 1 infinite values"))
    #expect(refused.stderr.contains("--allow-nonfinite"))
    let allowed = await calib(["record", store, "--run", "b", "--allow-nonfinite", "--recipe", recipe, "--weights", dir.path("w.safetensors"), step])
    #expect(allowed.exitCode == 0, "\(allowed.stderr)")
    let samples = try CalibrationStore(path: store, readOnly: true).samples(ofRecording: "b")
    #expect(samples.first { $0.baseName == .input }.map { ($0.nanCount, $0.infCount) } ?? (0, 0) == (1, 1))
  }

  /// A histogram observer whose second step would grow its histogram without bound (a
  /// first step of tiny values, then huge ones) fails with one line naming module, tensor,
  /// step and observer, instead of trapping or allocating gigabytes.
  @Test(arguments: ["ort_percentile", "ort_entropy", "modelopt_percentile"])
  func unboundedHistogramGrowthIsALineNotACrash(observer: String) async throws {
    let dir = try TemporaryDirectory()
    var steps: [String] = []
    for (i, values) in [[Float(1e-30), -2e-30, 3e-30, 0], [1e30, -2e30, 3, 0]].enumerated() {
      var writer = SafetensorsWriter(metadata: [:])
      writer.append(name: "m.input", tensor: Tensor(shape: [1, 4], values: values))
      steps.append(dir.path("step-\(i).safetensors"))
      try writer.write(to: steps[i])
    }
    var weights = SafetensorsWriter(metadata: [:])
    weights.append(name: "m.weight", tensor: Tensor(shape: [4, 4], repeating: 0.5))
    try weights.write(to: dir.path("w.safetensors"))
    let recipe = dir.path("r.yaml")
    try "config_groups: {g: {targets: [Linear], input_activations: {num_bits: 8, strategy: tensor, observer: \(observer)}}}"
      .write(toFile: recipe, atomically: true, encoding: .utf8)
    let result = await calib(["record", dir.path("s.sqlite"), "--run", "a", "--recipe", recipe, "--weights", dir.path("w.safetensors")] + steps)
    #expect(result.exitCode == 1)
    #expect(result.stderr.contains("module 'm' input, step 1: observer '\(observer)'"), "\(result.stderr)")
    #expect(result.stderr.contains("histogram"))
    #expect(result.stderr.split(separator: "\n").count == 1)
  }

  /// A quantized weight holding NaN is refused even with --allow-nonfinite, by a message
  /// that does not suggest that flag.
  @Test func nonFiniteQuantizedWeightsAreRefused() async throws {
    let dir = try TemporaryDirectory()
    var writer = SafetensorsWriter(metadata: [:])
    writer.append(name: "m.input", tensor: Tensor(shape: [1, 2, 4], repeating: 1))
    let step = dir.path("step.safetensors")
    try writer.write(to: step)
    var weights = SafetensorsWriter(metadata: [:])
    weights.append(name: "m.weight", tensor: Tensor(shape: [4, 4], values: [.nan] + Array(repeating: 0.5, count: 15)))
    try weights.write(to: dir.path("w.safetensors"))
    let recipe = dir.path("r.yaml")
    try "config_groups: {g: {targets: [Linear], weights: {num_bits: 8, strategy: channel}}}".write(toFile: recipe, atomically: true, encoding: .utf8)
    let refused = await calib(["record", dir.path("s.sqlite"), "--run", "a", "--allow-nonfinite", "--recipe", recipe, "--weights", dir.path("w.safetensors"), step])
    #expect(refused.exitCode == 1)
    #expect(refused.stderr.contains("weight 'm.weight' holds 1 NaN"))
    #expect(!refused.stderr.contains("--allow-nonfinite"))
  }

  /// Inverts the first bytes of the first payload in the store's segment file.
  private func corruptOneSample(_ path: String) throws {
    let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path + "-samples"))
    defer { try? handle.close() }
    try handle.seek(toOffset: 64)
    let bytes = try handle.read(upToCount: 16) ?? Data()
    try handle.seek(toOffset: 64)
    try handle.write(contentsOf: Data(bytes.map { ~$0 }))
  }
}
