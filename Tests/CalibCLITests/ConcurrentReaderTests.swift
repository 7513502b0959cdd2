import CalibCore
import CalibStore
import CalibTestSupport
import Foundation
import Synchronization
import Testing

/// Readers running while recordings are removed and recorded again see either the store
/// as it was or a clean error, never another run's bytes.
@Suite(.serialized) struct ConcurrentReaderTests {
  @Test func readersAgainstRemovalAndNewRecordings() async throws {
    let dir = try TemporaryDirectory()
    let first = try SyntheticRecording(in: dir, steps: 4, moduleNames: ["layers.0.proj", "layers.1.proj"], tokens: 32, hidden: 128, seed: 1)
    let secondDir = try TemporaryDirectory()
    let second = try SyntheticRecording(in: secondDir, steps: 4, moduleNames: ["layers.0.proj", "layers.1.proj"], tokens: 32, hidden: 128, seed: 2)
    let store = dir.path("s.sqlite")
    func record(_ input: SyntheticRecording, _ name: String) -> [String] {
      ["record", store, "--run", name, "--recipe", first.recipeFile, "--weights", input.weightsFile, "-q"] + input.stepFiles
    }
    #expect(try runCalib(record(first, "kept")) == (0, ""))
    #expect(try runCalib(record(first, "victim")) == (0, ""))
    let keptBefore = try CalibrationStore(path: store, readOnly: true).finalQParams(ofRun: "kept")

    let stop = Atomic<Bool>(false)
    let failures = Mutex([String]())
    let readers = Thread {
      var n = 0
      while !stop.load(ordering: .relaxed) && n < 200 {
        n += 1
        do {
          let (status, stderr) = try runCalib(["check", store])
          if status != 0 { failures.withLock { $0.append("check #\(n): \(stderr)") } }
        } catch {
          failures.withLock { $0.append("check #\(n): \(error)") }
        }
      }
    }
    readers.start()
    for round in 0..<8 {
      let input = round % 2 == 0 ? second : first
      let (rm, rmError) = try runCalib(["rm", store, "victim"])
      #expect(rm == 0, "rm: \(rmError)")
      let (status, stderr) = try runCalib(record(input, "victim"))
      #expect(status == 0, "record: \(stderr)")
    }
    stop.store(true, ordering: .relaxed)
    while !readers.isFinished { usleep(10_000) }
    #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 }.prefix(5))")
    let s = try CalibrationStore(path: store)
    #expect(try s.finalQParams(ofRun: "kept") == keptBefore)
    #expect(try s.check().isEmpty)
    // Space held back while readers were open is given back now.
    #expect(try s.givePayloadSpaceBack() != nil)
    #expect(try s.unreferencedTailBytes() == 0)
  }

  /// Runs the `calib` executable; returns its exit status and stderr.
  private func runCalib(_ arguments: [String]) throws -> (Int32, String) {
    let process = Process()
    process.executableURL = calibExecutable
    process.arguments = arguments
    let err = Pipe()
    process.standardOutput = FileHandle.nullDevice
    process.standardError = err
    try process.run()
    let data = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, process.terminationStatus == 0 ? "" : String(decoding: data, as: UTF8.self))
  }
}
