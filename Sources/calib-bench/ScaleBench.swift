import ArgumentParser
import CalibCore
import CalibFormats
import Foundation

/// `calib-bench scale`: a synthetic store shaped like Llama-3-8B's calibration (hidden 4096,
/// MLP 14336, bf16 inputs of q/k/v/o/gate/up/down per layer, 8 steps × 256 tokens: about
/// 5 GB at 32 layers), grown from 1 to 32 layers. Each size runs the released `calib`
/// commands a user would run (record, replay, `diff --metrics`, `rank`, `export`) as
/// child processes and reports their wall time and peak RSS, so that growth is seen as
/// users see it: time should grow linearly with the layers, memory should stay flat.
struct ScaleBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "scale", abstract: "Time calib's commands on a Llama-3-8B-shaped store from 1 to 32 layers.")

  @Option(help: "Layer counts to measure, comma-separated.")
  var layers = "1,2,4,8,16,32"

  @Option(help: "Calibration steps.")
  var steps = 8

  @Option(help: "Tokens per step.")
  var tokens = 256

  @Option(help: "Directory for step files and stores (default: a temporary directory; needs about 2 × the sample bytes).")
  var dir: String?

  @Option(help: "The calib executable (default: the one beside calib-bench).")
  var calib: String?

  @Option(help: "Rounds per layer count; the plain write and the commands alternate round by round.")
  var rounds = 3

  static let hidden = 4096
  static let mlp = 14336
  /// The Linear modules of a Llama decoder layer and the width of each one's input.
  static let inputs: [(String, Int)] = [
    ("self_attn.q_proj", hidden), ("self_attn.k_proj", hidden), ("self_attn.v_proj", hidden),
    ("self_attn.o_proj", hidden), ("mlp.gate_proj", hidden), ("mlp.up_proj", hidden), ("mlp.down_proj", mlp),
  ]

  func run() throws {
    let counts = try layers.split(separator: ",").map { text -> Int in
      guard let n = Int(text.trimmingCharacters(in: .whitespaces)), (1...1024).contains(n) else {
        throw ValidationError("--layers takes comma-separated counts from 1 to 1024, got '\(text)'")
      }
      return n
    }
    guard steps >= 1, tokens >= 1 else { throw ValidationError("--steps and --tokens must be at least 1") }
    guard (1...100).contains(rounds) else { throw ValidationError("--rounds takes 1 to 100, got \(rounds)") }
    let executable = try ChildProcess.calibExecutable(calib)
    let work = dir ?? FileManager.default.temporaryDirectory.appendingPathComponent("calib-scale-\(getpid())").path
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    defer { if dir == nil { try? FileManager.default.removeItem(atPath: work) } }

    let stepFiles = try writeStepFiles(layers: counts.max() ?? 1, in: work)
    let recipe = work + "/recipe.yaml"
    try """
      config_groups:
        g:
          targets: [Linear]
          input_activations: {num_bits: 8, type: int, symmetric: true, strategy: tensor, dynamic: false, observer: static_minmax}
      """.write(toFile: recipe, atomically: true, encoding: .utf8)
    let layerBytes = Self.inputs.reduce(0) { $0 + tokens * $1.1 * 2 } * steps
    var firstPerLayer: [String: Double] = [:]
    for n in counts {
      let store = work + "/scale-\(n).sqlite"
      let files = stepFiles.filter { $0.layer < n }.map(\.path)
      let commands: [(String, [String])] = [
        ("record", ["record", store, "--run", "rec", "--recipe", recipe] + files),
        ("replay", ["replay", store, "--from", "rec", "--name", "mm", "--observer", "minmax"]),
        ("diff_metrics", ["diff", store, "rec", "mm", "--metrics", "--format", "csv"]),
        ("rank", ["rank", store, "rec", "mm", "--format", "json"]),
        ("export", ["export", store, "rec", work + "/scale-\(n).safetensors"]),
      ]
      // The same bytes written plainly and fsync'ed (as `calib-bench record`'s baseline):
      // how much of recording's growth with the layers is the page cache's and the disk's.
      // Each round writes them, then runs every command on a new store, so the disk's
      // moods fall on both sides alike.
      let plainPath = work + "/plain.bin"
      var plain = Timings()
      var timings = [Timings](repeating: Timings(), count: commands.count)
      var peakRSS = [Double](repeating: 0, count: commands.count)
      for _ in 0..<rounds {
        try plain.time { try RecordBench.writePlain(files, to: plainPath) }
        try? FileManager.default.removeItem(atPath: plainPath)
        for (k, (_, arguments)) in commands.enumerated() {
          let result = try ChildProcess.run(executable, arguments)
          timings[k].append(result.seconds)
          peakRSS[k] = max(peakRSS[k], result.peakRSSMegabytes)
        }
        removeStore(at: store)
        try? FileManager.default.removeItem(atPath: work + "/scale-\(n).safetensors")
      }
      if firstPerLayer["plain_write"] == nil { firstPerLayer["plain_write"] = plain.median / Double(n) }
      emit([
        ("case", "scale_plain_write"), ("layers", n), ("rounds", rounds), ("sample_GB", Double(layerBytes * n) / 1e9),
        ("seconds", plain.median), ("spread", plain.spread), ("seconds_per_layer", plain.median / Double(n)),
        ("per_layer_vs_smallest", plain.median / Double(n) / (firstPerLayer["plain_write"] ?? 1)),
      ])
      for (k, (name, _)) in commands.enumerated() {
        let perLayer = timings[k].median / Double(n)
        if firstPerLayer[name] == nil { firstPerLayer[name] = perLayer }
        var fields: [(String, Any)] = [
          ("case", "scale_\(name)"), ("layers", n), ("rounds", rounds), ("sample_GB", Double(layerBytes * n) / 1e9),
          ("seconds", timings[k].median), ("spread", timings[k].spread), ("seconds_per_layer", perLayer),
          ("per_layer_vs_smallest", perLayer / (firstPerLayer[name] ?? perLayer)),
          ("peak_rss_mb", peakRSS[k]),
        ]
        if name == "record" {
          let ratio = RatioSummary(plain, over: timings[k])
          fields += [("ratio_to_plain_write", ratio.median), ("ratio_spread", ratio.spread)]
        }
        emit(fields)
      }
    }
  }

  /// One file per (step, layer), tagged with its step so the recorder groups a step's
  /// files; every layer holds the same values (the timing does not depend on them).
  private func writeStepFiles(layers: Int, in work: String) throws -> [(layer: Int, path: String)] {
    var noise = BenchNoise(seed: 7)
    var patterns: [Int: [UInt8]] = [:]
    for width in Set(Self.inputs.map(\.1)) {
      var bytes = [UInt8](repeating: 0, count: tokens * width * 2)
      bytes.withUnsafeMutableBytes { raw in
        for i in 0..<(tokens * width) {
          let channel = 0.1 + 8 * Float(i % width) / Float(width)
          raw.storeBytes(of: BFloat16.bits(noise.next() * channel).littleEndian, toByteOffset: i * 2, as: UInt16.self)
        }
      }
      patterns[width] = bytes
    }
    var files: [(Int, String)] = []
    for s in 0..<steps {
      for l in 0..<layers {
        var writer = SafetensorsWriter(metadata: ["step": String(s)])
        for (name, width) in Self.inputs {
          writer.append(
            RawTensor(name: "model.layers.\(l).\(name).input", dtype: .bf16, shape: [1, tokens, width], bytes: patterns[width] ?? []))
        }
        let path = work + "/step-\(s)-layer-\(l).safetensors"
        try writer.write(to: path)
        files.append((l, path))
      }
    }
    return files
  }
}
