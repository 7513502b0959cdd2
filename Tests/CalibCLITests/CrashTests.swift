import CalibCore
import CalibStore
import CalibTestSupport
import Foundation
import Synchronization
import Testing

/// A `calib record` killed with SIGKILL at random points leaves a store that passes
/// `calib check`, shows every completed step, and resumes to the same final parameters as
/// an uninterrupted run.
@Suite(.serialized) struct CrashTests {
  /// The stderr of the last command ``runProcess(_:killAfter:)`` ran.
  private let lastStderr = StderrLog()

  @Test func killedRecordingsResumeToTheSameResult() async throws {
    let dir = try TemporaryDirectory()
    let input = try SyntheticRecording(in: dir, steps: 24, modules: 4)
    let reference = dir.path("reference.sqlite")
    let crashed = dir.path("crashed.sqlite")
    func arguments(_ store: String, resume: Bool) -> [String] {
      ["record", store, "--run", "r", "--recipe", input.recipeFile, "--weights", input.weightsFile, "--quiet"]
        + (resume ? ["--resume"] : []) + input.stepFiles
    }
    let clean = try runProcess(arguments(reference, resume: false))
    #expect(clean == 0)

    var rng = SplitMix64(seed: 7)
    var kills = 0
    var attempts = 0
    var lastSteps = 0
    while attempts < 200 {
      attempts += 1
      let exists = FileManager.default.fileExists(atPath: crashed)
      let resume = exists ? ((try? CalibrationStore(path: crashed, readOnly: true).runs().isEmpty) == false) : false
      let delay = Double(rng.next() % 1000) / 1000 * (kills < 20 ? 0.6 : 10)
      let status = try runProcess(arguments(crashed, resume: resume), killAfter: delay)
      if status == nil { kills += 1 }
      // Killed before the schema was written: the next attempt starts afresh.
      guard let store = try? CalibrationStore(path: crashed, readOnly: true), (try? store.runs()) != nil else { continue }
      #expect(try store.check().isEmpty, "store inconsistent after kill \(kills)")
      if let run = try store.runs().first {
        #expect(run.steps >= lastSteps, "completed steps went backwards")
        lastSteps = run.steps
        let states = try store.stepStates(ofRun: "r").filter { $0.baseName == .input }
        #expect(Set(states.compactMap(\.step)) == Set(0..<run.steps), "states do not match completed steps")
        if run.status == .complete && kills >= 20 { break }
        if run.status == .complete {
          // Finished before enough kills landed: start over on a fresh store.
          for suffix in ["", "-wal", "-shm", "-samples"] { try? FileManager.default.removeItem(atPath: crashed + suffix) }
          lastSteps = 0
        }
      }
    }
    #expect(kills >= 20, "only \(kills) kills landed")
    let a = try CalibrationStore(path: reference, readOnly: true).finalQParams(ofRun: "r")
    let b = try CalibrationStore(path: crashed, readOnly: true).finalQParams(ofRun: "r")
    #expect(a.count == b.count && a.count > 0)
    #expect(a == b, "resumed parameters differ from the uninterrupted run")
  }

  /// `replay`, `rm`, `gc`, `import-qparams` and `record --replace` killed at random points leave
  /// a store that passes `check`, whose complete runs are exactly as before or exactly as
  /// after, and whose leftovers are stale and replaced or removed by the next command.
  @Test func otherCommandsKilledLeaveTheStoreConsistent() async throws {
    let dir = try TemporaryDirectory()
    let input = try SyntheticRecording(in: dir, steps: 6, modules: 4)
    let store = dir.path("s.sqlite")
    func record(_ name: String) -> [String] {
      ["record", store, "--run", name, "--recipe", input.recipeFile, "--weights", input.weightsFile, "-q"] + input.stepFiles
    }
    #expect(try runProcess(record("r")) == 0)
    #expect(try runProcess(record("q")) == 0)  // replaced over and over; nothing replays it
    let mse = ["replay", store, "--from", "r", "--name", "mse", "--observer", "mse", "-q"]
    #expect(try runProcess(mse) == 0)
    let exported = dir.path("r.safetensors")
    #expect(try runProcess(["export", store, "r", exported]) == 0)
    func finals(_ run: String) throws -> [QParamsEntry]? {
      try? CalibrationStore(path: store, readOnly: true).finalQParams(ofRun: run)
    }
    let before = (r: try finals("r"), mse: try finals("mse"), q: try finals("q"))

    var rng = SplitMix64(seed: 11)
    var kills = 0
    for round in 0..<6 {
      let delay = Double(rng.next() % 1000) / 1000 * 0.4
      let commands: [[String]] = [
        ["replay", store, "--from", "r", "--name", "sweep", "--sweep", "weights.num_bits=4,8", "--name-prefix", "s\(round)-", "-q"],
        ["import-qparams", store, "--run", "imported\(round)", exported],
        record("q") + ["--replace"],
        ["gc", store],  // moves q's new copy down over the gap its old one left
        ["rm", store, "mse"],
      ]
      for command in commands {
        if try runProcess(command, killAfter: delay) == nil { kills += 1 }
        let s = try CalibrationStore(path: store, readOnly: true)
        #expect(try s.check().isEmpty, "\(command[0]) killed after \(delay) s left problems")
        for run in try s.runs() where run.status == .complete {
          #expect(try !s.finalQParams(ofRun: run.name).isEmpty || run.kind == .imported, "complete run \(run.name) has no parameters")
        }
        #expect(try finals("r") == before.r, "run r changed")
        #expect(try finals("q") == before.q, "run q is not its old or new self")
        if let mse = try finals("mse") { #expect(mse == before.mse, "run mse changed") }
        #expect(try s.runs().allSatisfy { $0.status == .complete || $0.isStale || $0.status == .failed }, "a run is left in progress by a live writer")
      }
      // The leftovers do not block the next commands.
      #expect(try runProcess(mse) == 0 || (try finals("mse")) != nil)
    }
    #expect(kills > 0, "no kill landed")
    // A later replace and removal of every stale run succeed.
    #expect(try runProcess(record("q") + ["--replace"]) == 0, "\(lastStderr.text.withLock { $0 })")
    let s = try CalibrationStore(path: store)
    #expect(try s.runs().filter { $0.name.hasPrefix(".replacing") }.isEmpty, "a replace left debris behind")
    for run in try s.runs() where run.isStale || run.status == .failed { try s.deleteRun(named: run.name) }
    #expect(try s.runs().allSatisfy { $0.status == .complete })
    #expect(try finals("r") == before.r && finals("q") == before.q)
  }

  /// Runs `calib` with the arguments; kills it with SIGKILL after `killAfter` seconds.
  /// Returns the exit status, or nil when it was killed.
  private func runProcess(_ arguments: [String], killAfter: Double? = nil) throws -> Int32? {
    let process = Process()
    process.executableURL = calibExecutable
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    // The last command's stderr, for the message of a failed expectation.
    let errors = FileManager.default.temporaryDirectory.appendingPathComponent("calib-crash-\(UUID().uuidString).err")
    _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: errors) }
    process.standardError = try FileHandle(forWritingTo: errors)
    defer { lastStderr.text.withLock { $0 = (try? String(contentsOf: errors, encoding: .utf8)) ?? "" } }
    try process.run()
    if let killAfter {
      let deadline = Date().addingTimeInterval(killAfter)
      while process.isRunning && Date() < deadline { usleep(2000) }
      if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return nil
      }
    }
    process.waitUntilExit()
    return process.terminationStatus
  }
}

private final class StderrLog: Sendable {
  let text = Mutex("")
}
