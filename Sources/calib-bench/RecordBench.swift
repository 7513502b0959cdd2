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

  @Option(help: "Rounds of (plain write, recording); medians are reported.")
  var rounds = 3

  @Option(help: "Directory for the store and the plain file (default: a temporary directory).")
  var dir: String?

  func run() throws {
    let work = dir ?? FileManager.default.temporaryDirectory.appendingPathComponent("calib-bench-\(getpid())").path
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    defer { if dir == nil { try? FileManager.default.removeItem(atPath: work) } }
    let steps = (0..<4).map { "\(fixtures)/step-\(String(format: "%04d", $0)).safetensors" }
    let stepBytes = try steps.map { try SafetensorsFile(path: $0).entries.reduce(0) { $0 + $1.byteCount } }.reduce(0, +)
    let repeats = max(1, Int((gb * 1e9 / Double(stepBytes)).rounded(.up)))
    let files = try Self.numberedCopies(of: steps, repeats: repeats, in: work)
    defer { for f in files { try? FileManager.default.removeItem(atPath: f) } }
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

    // Plain file and recording alternate for --rounds rounds and each reports its median,
    // so a burst of noise on this shared machine does not land on one side only.
    let plainPath = work + "/plain.bin"
    let storePath = work + "/record.sqlite"
    var plainTimes = Timings()
    var recordTimes = Timings()
    var plainRSS = 0.0
    var recordRSS = 0.0
    for _ in 0..<rounds {
      resetPeakRSS()
      try plainTimes.time { try Self.writePlain(files, to: plainPath) }
      plainRSS = max(plainRSS, peakRSSMegabytes())
      try? FileManager.default.removeItem(atPath: plainPath)
      removeStore(at: storePath)
      resetPeakRSS()
      try recordTimes.time {
        let store = try CalibrationStore(path: storePath)
        _ = try Recorder(store: store).record(RecordRequest(runName: "bench", recipe: (recipe, "bench"), weightFiles: [], stepFiles: files))
      }
      recordRSS = max(recordRSS, peakRSSMegabytes())
    }
    let plainSeconds = plainTimes.median
    let seconds = recordTimes.median
    let ratio = RatioSummary(plainTimes, over: recordTimes)
    emit([
      ("case", "plain_file_write"), ("rounds", rounds), ("seconds", plainSeconds), ("spread", plainTimes.spread),
      ("GBps", total / plainSeconds / 1e9), ("peak_rss_mb", plainRSS),
    ])
    emit([
      ("case", "record_fixtures"), ("rounds", rounds), ("seconds", seconds), ("spread", recordTimes.spread),
      ("GBps", total / seconds / 1e9), ("ratio_to_plain_write", ratio.median), ("ratio_spread", ratio.spread),
      ("peak_rss_mb", recordRSS),
    ])
  }

  /// The fixture steps written `repeats` times as step files of their own, numbered on in
  /// their `step` metadata (the recorder groups files by that number, so plain repeats of
  /// one file would be one step holding every tensor several times).
  static func numberedCopies(of steps: [String], repeats: Int, in work: String) throws -> [String] {
    let tensors = try steps.map { path in
      let file = try SafetensorsFile(path: path)
      return try file.entries.map { RawTensor(name: $0.name, dtype: $0.dtype, shape: $0.shape, bytes: try file.rawBytes(of: $0.name)) }
    }
    var paths: [String] = []
    for r in 0..<repeats {
      for (k, step) in tensors.enumerated() {
        let number = r * steps.count + k
        let path = work + "/step-\(number).safetensors"
        try SafetensorsWriter(tensors: step, metadata: ["step": String(number)]).write(to: path)
        paths.append(path)
      }
    }
    return paths
  }

  /// The same tensor bytes in the same order, read from the step files as the recorder
  /// reads them and written with one write(2) each straight from the read buffer,
  /// fsync'ed once at the end: keeping the bytes with no checksum, no format and no index.
  static func writePlain(_ files: [String], to plainPath: String) throws {
    let output = open(plainPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard output >= 0 else { throw CleanExit.message("cannot create \(plainPath)") }
    defer { close(output) }
    for path in files {
      let file = try SafetensorsFile(path: path)
      try file.forEachRawBytes(of: file.entries) { _, raw in
        var done = 0
        while done < raw.count {
          let n = write(output, raw.baseAddress! + done, raw.count - done)
          guard n > 0 else { throw CleanExit.message("cannot write \(plainPath)") }
          done += n
        }
      }
    }
    fsync(output)
  }
}
