import ArgumentParser
import CalibCore
import CalibFormats
import CalibStore
import Foundation

/// `calib-bench replay`: an LLM-shaped synthetic recording (hidden 4096, intermediate 11008,
/// 512 tokens per step, bf16, seven Linear modules per layer) replayed with several
/// observers, against a plain sequential read of the same bytes.
struct ReplayBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "replay", abstract: "Build a ~N GB LLM-shaped recording as run 'bench' and time replays.")

  @Option(help: "Approximate sample gigabytes.")
  var gb = 1.0

  @Option(help: "Keep the store at this path (default: a temporary file).")
  var store: String?

  @Option(help: "Transformer layers (steps are added until --gb is reached).")
  var layers = 2

  @Flag(help: "Reuse the recording at --store if it holds a complete run 'bench' (skips the record case).")
  var reuse = false

  @Option(help: "Only the cases whose name contains this.")
  var filter: String?

  @Option(help: "Rounds per case; `cat` and the replay alternate, medians and spreads are reported.")
  var rounds = 3

  func run() throws {
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("calib-replay-bench-\(getpid())").path
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: work) }
    let storePath = store ?? work + "/bench.sqlite"
    // Opening creates a store: look before opening one to reuse.
    if reuse, FileManager.default.fileExists(atPath: storePath), let existing = try? CalibrationStore(path: storePath),
      (try? existing.run(named: "bench"))?.status == .complete
    {
      let total = Double(try existing.samples(ofRecording: "bench").reduce(0) { $0 + $1.byteCount })
      try replays(existing, total: total, work: work)
      return
    }
    let (hidden, inter, tokens) = (4096, 11008, 512)
    let linears: [(String, Int)] = [
      ("self_attn.q_proj", hidden), ("self_attn.k_proj", hidden), ("self_attn.v_proj", hidden), ("self_attn.o_proj", hidden),
      ("mlp.gate_proj", hidden), ("mlp.up_proj", hidden), ("mlp.down_proj", inter),
    ]
    let bytesPerStep = layers * linears.reduce(0) { $0 + tokens * $1.1 * 2 }
    let steps = max(1, Int((gb * 1e9 / Double(bytesPerStep)).rounded(.up)))
    var rng = BenchNoise(seed: 1)
    var files: [String] = []
    for s in 0..<steps {
      var writer = SafetensorsWriter(metadata: ["step": String(s)])
      for l in 0..<layers {
        for (name, width) in linears {
          var bytes = [UInt8](repeating: 0, count: tokens * width * 2)
          let channelScale = (0..<width).map { 0.1 + 8 * Float($0) / Float(width) }
          bytes.withUnsafeMutableBytes { raw in
            for i in 0..<(tokens * width) {
              raw.storeBytes(of: BFloat16.bits(rng.next() * channelScale[i % width]).littleEndian, toByteOffset: i * 2, as: UInt16.self)
            }
          }
          writer.append(RawTensor(name: "model.layers.\(l).\(name).input", dtype: .bf16, shape: [1, tokens, width], bytes: bytes))
        }
      }
      let path = work + "/step-\(s).safetensors"
      try writer.write(to: path)
      files.append(path)
    }
    let total = Double(bytesPerStep * steps)
    let recipe = """
      config_groups:
        g:
          targets: [Linear]
          input_activations: {num_bits: 8, type: int, symmetric: true, strategy: tensor, dynamic: false, observer: static_minmax}
      """
    removeStore(at: storePath)
    let calib = try CalibrationStore(path: storePath)
    resetPeakRSS()
    let recordSeconds = try medianSeconds(1) {
      _ = try Recorder(store: calib).record(RecordRequest(runName: "bench", recipe: (recipe, "bench"), weightFiles: [], stepFiles: files))
    }
    emit([("case", "record"), ("seconds", recordSeconds), ("GBps", total / recordSeconds / 1e9), ("peak_rss_mb", peakRSSMegabytes())])
    for f in files { try? FileManager.default.removeItem(atPath: f) }


    try replays(calib, total: total, work: work)
  }

  /// Replays against `cat` of the store's own files: warm (pages cached; each side reads
  /// once first) and cold (this benchmark's files dropped from the page cache before every
  /// timed read), in alternating rounds.
  private func replays(_ calib: CalibrationStore, total: Double, work: String) throws {
    let storeFiles = ["", "-wal", "-samples"].map { calib.path + $0 }.filter { FileManager.default.fileExists(atPath: $0) }
    let engine = ReplayEngine(store: calib)
    let parent = try engine.parentRecipe(of: "bench")
    let cores = ProcessInfo.processInfo.activeProcessorCount
    var n = 0
    /// Times one replay into `timings`; the runs it wrote are removed after the clock stops.
    func replayOnce(_ overrides: [[SettingOverride]], threads: Int, into timings: inout Timings) throws {
      n += 1
      let variants = try overrides.enumerated().map { i, o in
        let r = try parent.applying(o)
        return ReplayVariant(name: "bench-replay-\(getpid())-\(n)-\(i)", recipe: r, recipeText: r.configGroupsJSON, differences: [])
      }
      try timings.time { _ = try engine.replay(ReplayRequest(from: "bench", variants: variants, threads: threads)) }
      for v in variants { try calib.deleteRun(named: v.name) }
    }
    func observer(_ o: String) -> [SettingOverride] { [SettingOverride(section: nil, field: "observer", value: o)] }
    func wanted(_ name: String) -> Bool { filter.map { name.contains($0) } ?? true }

    try FileRead.readAll(storeFiles)
    for cold in [false, true] {
      let temperature = cold ? "cold" : "warm"
      for o in ["static_minmax", "minmax"] where wanted("replay_\(o)_\(temperature)") {
        var cat = Timings(), replay = Timings()
        var rss = 0.0
        for _ in 0..<rounds {
          if cold { FileRead.dropCaches(storeFiles) }
          try cat.time { try FileRead.readAll(storeFiles) }
          if cold { FileRead.dropCaches(storeFiles) }
          resetPeakRSS()
          try replayOnce([observer(o)], threads: cores, into: &replay)
          rss = max(rss, peakRSSMegabytes())
        }
        let ratio = RatioSummary(cat, over: replay)
        emit([
          ("case", "replay_\(o)_\(temperature)"), ("threads", cores), ("rounds", rounds), ("seconds", replay.median),
          ("spread", replay.spread), ("GBps", total / replay.median / 1e9), ("cat_seconds", cat.median),
          ("cat_GBps", total / cat.median / 1e9), ("ratio_to_cat", ratio.median), ("ratio_spread", ratio.spread),
          ("peak_rss_mb", rss),
        ])
      }
    }
    try FileRead.readAll(storeFiles)
    func timed(_ name: String, _ overrides: [[SettingOverride]], threads: Int) throws {
      guard wanted(name) else { return }
      var t = Timings()
      resetPeakRSS()
      for _ in 0..<rounds { try replayOnce(overrides, threads: threads, into: &t) }
      emit([
        ("case", name), ("threads", threads), ("rounds", rounds), ("seconds", t.median), ("spread", t.spread),
        ("GBps", total / t.median / 1e9), ("peak_rss_mb", peakRSSMegabytes()),
      ])
    }
    try timed("replay_memoryless_mse_1thread", [observer("memoryless_mse")], threads: 1)
    try timed("replay_memoryless_mse", [observer("memoryless_mse")], threads: cores)
    let sweep = ["static_minmax", "minmax", "memoryless_minmax"].map(observer)
    try timed("sweep_3_minmax_variants", sweep, threads: cores)
  }
}
