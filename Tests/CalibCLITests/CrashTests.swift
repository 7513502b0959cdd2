import CalibCore
import CalibStore
import CalibTestSupport
import Foundation
import Testing

/// A `calib record` killed with SIGKILL at random points leaves a store that passes
/// `calib check`, shows every completed step, and resumes to the same final parameters as
/// an uninterrupted run.
@Suite(.serialized) struct CrashTests {
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

  /// Runs `calib` with the arguments; kills it with SIGKILL after `killAfter` seconds.
  /// Returns the exit status, or nil when it was killed.
  private func runProcess(_ arguments: [String], killAfter: Double? = nil) throws -> Int32? {
    let process = Process()
    process.executableURL = calibExecutable
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
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
