import ArgumentParser
import CalibCore
import CalibFormats
import CalibStore
import Foundation

/// `calib-bench record`: recording throughput on the conformance fixtures scaled up, against
/// writing the same bytes to a plain file.
struct RecordBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "record",
    abstract: "Record the conformance fixtures repeated to about --gb GB; compare with a plain file write.")

  @Option(help: "Approximate sample gigabytes to record.")
  var gb = 1.0

  @Option(help: "Fixture directory (default: Tests/Fixtures/minilm next to the package).")
  var fixtures = "Tests/Fixtures/minilm"

  @Option(help: "Directory for the store and the plain file (default: a temporary directory).")
  var dir: String?

  func run() throws {
    let work = dir ?? FileManager.default.temporaryDirectory.appendingPathComponent("calib-bench-\(getpid())").path
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    defer { if dir == nil { try? FileManager.default.removeItem(atPath: work) } }
    let steps = (0..<4).map { "\(fixtures)/step-\(String(format: "%04d", $0)).safetensors" }
    let stepBytes = try steps.map { try SafetensorsFile(path: $0).entries.reduce(0) { $0 + $1.byteCount } }.reduce(0, +)
    let repeats = max(1, Int((gb * 1e9 / Double(stepBytes)).rounded(.up)))
    let files = (0..<repeats).flatMap { _ in steps }
    // Observes every sampled tensor of the fixtures (not all modules have inputs and outputs).
    let recipe = """
      config_groups:
        inputs:
          targets: ['re:.*(query|output\\.dense|intermediate\\.dense)$']
          input_activations: {num_bits: 8, type: int, symmetric: true, strategy: tensor, dynamic: false, observer: static_minmax}
        outputs:
          targets: ['re:.*self\\.(key|value)$']
          output_activations: {num_bits: 8, type: float, symmetric: true, strategy: tensor, dynamic: false, observer: minmax}
        attention:
          targets: ['re:.*attention\\.self$']
          input_activations: {num_bits: 8, type: float, symmetric: true, strategy: tensor, dynamic: false, observer: static_minmax}
      """
    let total = Double(stepBytes * repeats)

    // Plain file: the same bytes, written sequentially in the same tensor order.
    let plainPath = work + "/plain.bin"
    resetPeakRSS()
    let plainSeconds = try medianSeconds(1) {
      FileManager.default.createFile(atPath: plainPath, contents: nil)
      let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: plainPath))
      for path in files {
        let file = try SafetensorsFile(path: path)
        for e in file.entries { try file.withRawBytes(of: e.name) { try handle.write(contentsOf: Data($0)) } }
      }
      try handle.synchronize()
      try handle.close()
    }
    try? FileManager.default.removeItem(atPath: plainPath)
    emit([("case", "plain_file_write"), ("seconds", plainSeconds), ("GBps", total / plainSeconds / 1e9), ("peak_rss_mb", peakRSSMegabytes())])

    let storePath = work + "/record.sqlite"
    resetPeakRSS()
    let seconds = try medianSeconds(1) {
      let store = try CalibrationStore(path: storePath)
      _ = try Recorder(store: store).record(RecordRequest(runName: "bench", recipe: (recipe, "bench"), weightFiles: [], stepFiles: files))
    }
    emit([
      ("case", "record_fixtures"), ("seconds", seconds), ("GBps", total / seconds / 1e9),
      ("MBps", total / seconds / 1e6), ("ratio_to_plain_write", plainSeconds / seconds), ("peak_rss_mb", peakRSSMegabytes()),
    ])
  }
}
