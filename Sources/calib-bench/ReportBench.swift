import ArgumentParser
import CalibCore
import CalibFormats
import CalibStore
import Foundation

/// `calib-bench report`: the bundled MiniLM sample scaled up to `--layers` copies of its
/// layer (15 module/base pairs each; 34 layers make 510), recorded with the W8A8 recipe and
/// replayed into `--runs` runs, then `calib report` over all of them, timed as users run it
/// (the release `calib` binary in a child process).
struct ReportBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report", abstract: "Time `calib report` on the bundled sample scaled up to --layers layers × --runs runs.")

  @Option(help: "Copies of the sample's layer (each a little rescaled, so layers differ).")
  var layers = 34

  @Option(help: "Runs in the report: the recording plus replays (2 to 4).")
  var runs = 4

  @Option(help: "The bundled sample's directory.")
  var sample = "Samples/minilm"

  @Option(help: "The recipe to record with.")
  var recipe = "Samples/recipes/w8a8-static.yaml"

  @Option(help: "The calib executable (default: the one beside calib-bench).")
  var calib: String?

  @Option(help: "Keep the store and the report in this directory (default: a temporary one).")
  var dir: String?

  func validate() throws {
    if !(2...4).contains(runs) { throw ValidationError("--runs must be 2, 3 or 4") }
    if layers < 1 { throw ValidationError("--layers must be at least 1") }
  }

  func run() throws {
    let work = dir ?? FileManager.default.temporaryDirectory.appendingPathComponent("calib-report-bench-\(getpid())").path
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    defer { if dir == nil { try? FileManager.default.removeItem(atPath: work) } }
    let steps = try (0..<3).map { try scaledCopy("\(sample)/step-\(String(format: "%04d", $0)).safetensors", to: "\(work)/step-\($0).safetensors") }
    let weights = try scaledCopy("\(sample)/weights.safetensors", to: "\(work)/weights.safetensors")
    let storePath = work + "/report-bench.sqlite"
    removeStore(at: storePath)
    let store = try CalibrationStore(path: storePath)
    let recordSeconds = try medianSeconds(1) {
      _ = try Recorder(store: store).record(
        RecordRequest(runName: "w8a8", recipe: (try String(contentsOfFile: recipe, encoding: .utf8), recipe), weightFiles: [weights], stepFiles: steps))
    }
    for f in steps + [weights] { try? FileManager.default.removeItem(atPath: f) }
    let sampleBytes = try store.samples(ofRecording: "w8a8").reduce(0) { $0 + $1.byteCount }
    emit([("case", "report_setup_record"), ("layers", layers), ("sample_MB", Double(sampleBytes) / 1e6), ("seconds", recordSeconds)])

    // Replays that change results cheaply (no MSE search): 4-bit weights, another
    // activation observer, per-tensor weights.
    let engine = ReplayEngine(store: store)
    let parent = try engine.parentRecipe(of: "w8a8")
    let variants: [(String, [SettingOverride])] = [
      ("w4", [SettingOverride(section: .weights, field: "num_bits", value: "4")]),
      ("minmax", [SettingOverride(section: nil, field: "observer", value: "minmax")]),
      ("w8-tensor", [SettingOverride(section: .weights, field: "strategy", value: "tensor")]),
    ].prefix(runs - 1).map { $0 }
    let replaySeconds = try medianSeconds(1) {
      let made = try variants.map { name, overrides in
        let r = try parent.applying(overrides)
        return ReplayVariant(name: name, recipe: r, recipeText: r.configGroupsJSON, differences: r.differences(from: parent))
      }
      _ = try engine.replay(ReplayRequest(from: "w8a8", variants: made, threads: ProcessInfo.processInfo.activeProcessorCount))
    }
    emit([("case", "report_setup_replays"), ("runs", variants.count), ("seconds", replaySeconds)])

    let executable = try ChildProcess.calibExecutable(calib)
    let out = work + "/report.html"
    let names = ["w8a8"] + variants.map(\.0)
    let report = try ChildProcess.run(executable, ["report", storePath] + names + ["-o", out])
    let bytes = (try FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? -1
    let pairs = try store.finalQParams(ofRun: "w8a8").count
    emit([
      ("case", "report"), ("pairs", pairs), ("runs", names.count), ("sample_MB", Double(sampleBytes) / 1e6),
      ("seconds", report.seconds), ("report_MB", Double(bytes) / 1e6), ("peak_rss_mb", report.peakRSSMegabytes),
    ])
  }

  /// `source` with every `encoder.layer.0.` tensor repeated for layers 0..<layers, layer `l`
  /// multiplied by `1 + 0.03 · (l mod 7)` (in bf16) so that the layers' scales differ.
  private func scaledCopy(_ source: String, to path: String) throws -> String {
    let file = try SafetensorsFile(path: source)
    var metadata = file.metadata
    if let types = metadata["module_types"], let data = types.data(using: .utf8),
      let map = try JSONSerialization.jsonObject(with: data) as? [String: String]
    {
      var all: [String: String] = [:]
      for l in 0..<layers {
        for (k, v) in map { all[k.replacingOccurrences(of: "encoder.layer.0.", with: "encoder.layer.\(l).")] = v }
      }
      metadata["module_types"] = String(decoding: try JSONSerialization.data(withJSONObject: all, options: [.sortedKeys]), as: UTF8.self)
    }
    var writer = SafetensorsWriter(metadata: metadata)
    for l in 0..<layers {
      let factor = 1 + 0.03 * Float(l % 7)
      for entry in file.entries {
        var bytes = try file.rawBytes(of: entry.name)
        if entry.dtype == .bf16 && l % 7 != 0 {
          bytes.withUnsafeMutableBytes { raw in
            for i in 0..<(raw.count / 2) {
              let bits = UInt16(littleEndian: raw.load(fromByteOffset: i * 2, as: UInt16.self))
              let value = Float(bitPattern: UInt32(bits) << 16) * factor
              raw.storeBytes(of: BFloat16.bits(value).littleEndian, toByteOffset: i * 2, as: UInt16.self)
            }
          }
        }
        let name = entry.name.replacingOccurrences(of: "encoder.layer.0.", with: "encoder.layer.\(l).")
        writer.append(RawTensor(name: name, dtype: entry.dtype, shape: entry.shape, bytes: bytes))
      }
    }
    try writer.write(to: path)
    return path
  }
}
