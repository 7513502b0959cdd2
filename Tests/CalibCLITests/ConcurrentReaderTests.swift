import CalibCore
import CalibStore
import CalibTestSupport
import Foundation
import Synchronization
import Testing

/// Readers running while recordings are removed, recorded again and compacted (`gc`) see
/// either the store as it was or a clean error, never another run's bytes.
@Suite(.serialized) struct ConcurrentReaderTests {
  /// `check`, `rank` and `diff --metrics` in loops while run "victim" is removed and
  /// recorded again, from one input and then from another (so bytes read at a stale
  /// offset would change the numbers). Each `rank` and `diff` either prints what it prints
  /// on the store as it was before one of the removals (victim recorded from the first or
  /// the second input) or fails cleanly: a non-zero exit with one line naming the run.
  @Test func readersAgainstRemovalAndNewRecordings() async throws {
    let inputs = try TwoInputs()
    defer { withExtendedLifetime(inputs) {} }
    let (dir, first, second) = (inputs.dir, inputs.first, inputs.second)
    let store = dir.path("s.sqlite")
    func record(_ input: SyntheticRecording, _ name: String, into path: String = store) -> [String] {
      ["record", path, "--run", name, "--recipe", first.recipeFile, "--weights", input.weightsFile, "-q"] + input.stepFiles
    }
    #expect(try runCalib(record(first, "kept")) == (0, ""))
    #expect(try runCalib(record(first, "victim")) == (0, ""))
    let keptBefore = try CalibrationStore(path: store, readOnly: true).finalQParams(ofRun: "kept")
    // What the readers print with victim recorded from either input, the second taken
    // from another store holding the same runs.
    let other = dir.path("other.sqlite")
    #expect(try runCalib(record(first, "kept", into: other)) == (0, ""))
    #expect(try runCalib(record(second, "victim", into: other)) == (0, ""))
    var expected: [ReaderCommand: Set<ReaderOutput>] = [:]
    for command in ReaderCommand.allCases {
      let outputs = try [store, other].map { ReaderOutput(try runCalibProcess(command.arguments(store: $0))) }
      #expect(outputs.allSatisfy { $0.exitCode != 2 && !$0.stdout.isEmpty }, "\(command): \(outputs)")
      expected[command] = Set(outputs)
    }
    #expect(expected[.rank]?.count == 2, "the two inputs must rank differently")
    let allowed = expected

    let stop = Atomic<Bool>(false)
    let failures = Mutex([String]())
    let runs = Mutex([ReaderCommand: (total: Int, succeeded: Int)]())
    let checker = Thread {
      Self.readLoop(until: stop, failures: failures) { n in
        let (status, stderr) = try runCalib(["check", store])
        return status == 0 ? nil : "check #\(n): \(stderr)"
      }
    }
    let measurers = ReaderCommand.allCases.map { command in
      Thread {
        Self.readLoop(until: stop, failures: failures) { n in
          let output = ReaderOutput(try runCalibProcess(command.arguments(store: store), timeout: 600))
          let succeeded = allowed[command]?.contains(output) == true
          runs.withLock { $0[command, default: (0, 0)].total += 1; if succeeded { $0[command]?.succeeded += 1 } }
          if succeeded || output.isCleanError(naming: "victim", exitCode: command.errorExitCode) { return nil }
          return "\(command) #\(n): exit \(output.exitCode), stderr \(output.stderr.debugDescription), stdout \(output.stdout.prefix(300))"
        }
      }
    }
    for reader in [checker] + measurers { reader.start() }
    for round in 0..<8 {
      let input = round % 2 == 0 ? second : first
      let (rm, rmError) = try runCalib(["rm", store, "victim"])
      #expect(rm == 0, "rm: \(rmError)")
      let (status, stderr) = try runCalib(record(input, "victim"))
      #expect(status == 0, "record: \(stderr)")
      // When a reader held the file during rm, the old victim left a gap that gc moves the
      // new one down over; it waits for no reader, and refuses while one reads.
      let (gc, gcError) = try runCalib(["gc", store])
      #expect(gc == 0 || gcError.contains("or another gc is using its payload file"), "gc: \(gcError)")
    }
    stop.store(true, ordering: .relaxed)
    while !([checker] + measurers).allSatisfy(\.isFinished) { usleep(10_000) }
    #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 }.prefix(5))")
    #expect(runs.withLock { $0.count } == ReaderCommand.allCases.count, "every reader ran: \(runs.withLock { $0 })")
    let s = try CalibrationStore(path: store)
    #expect(try s.finalQParams(ofRun: "kept") == keptBefore)
    #expect(try s.check().isEmpty)
    // Space held back while readers were open is given back now.
    #expect(try s.givePayloadSpaceBack() != nil)
    #expect(try s.unreferencedTailBytes() == 0)
  }

  /// Replay reads payloads too. Replays of "victim" run in a loop while it is removed and
  /// recorded again from one input and then the other: each either completes with the
  /// parameters a replay gives on one of the two recordings, or fails cleanly naming the
  /// run. `rm` refuses a recording that a replay's run still uses, so it is retried until
  /// the replay's run is gone.
  @Test func replaysAgainstRemovalAndNewRecordings() async throws {
    let inputs = try TwoInputs()
    defer { withExtendedLifetime(inputs) {} }
    let (dir, first, second) = (inputs.dir, inputs.first, inputs.second)
    let store = dir.path("s.sqlite")
    let other = dir.path("other.sqlite")
    func record(_ input: SyntheticRecording, into path: String) -> [String] {
      ["record", path, "--run", "victim", "--recipe", first.recipeFile, "--weights", input.weightsFile, "-q"] + input.stepFiles
    }
    @Sendable func replay(_ path: String, as name: String) -> [String] {
      ["replay", path, "--from", "victim", "--name", name, "--observer", "minmax", "-q"]
    }
    #expect(try runCalib(record(first, into: store)) == (0, ""))
    #expect(try runCalib(record(second, into: other)) == (0, ""))
    // The parameters a replay shows on either recording.
    var expected = Set<String>()
    for path in [store, other] {
      #expect(try runCalib(replay(path, as: "replayed")) == (0, ""))
      expected.insert(try runCalibProcess(["show", path, "replayed", "--format", "json"]).stdout)
      #expect(try runCalib(["rm", path, "replayed"]) == (0, ""))
    }
    #expect(expected.count == 2, "the two inputs must replay differently")
    let allowed = expected

    let stop = Atomic<Bool>(false)
    let failures = Mutex([String]())
    let completed = Atomic<Int>(0)
    let replayer = Thread {
      Self.readLoop(until: stop, failures: failures) { n in
        let name = "replayed-\(n)"
        let output = ReaderOutput(try runCalibProcess(replay(store, as: name), timeout: 600))
        guard output.exitCode == 0 else {
          return output.isCleanError(naming: "victim", exitCode: output.exitCode) ? nil : "replay #\(n): \(output)"
        }
        let shown = try runCalibProcess(["show", store, name, "--format", "json"]).stdout
        let (rm, rmError) = try runCalib(["rm", store, name])
        if rm != 0 { return "rm \(name): \(rmError)" }
        completed.add(1, ordering: .relaxed)
        return allowed.contains(shown) ? nil : "replay #\(n): parameters of neither recording"
      }
    }
    replayer.start()
    for round in 0..<8 {
      var (rm, rmError) = try runCalib(["rm", store, "victim"])
      var attempts = 0
      while rm != 0 && rmError.contains("holds samples used by") && attempts < 3000 {
        usleep(5_000)
        attempts += 1
        (rm, rmError) = try runCalib(["rm", store, "victim"])
      }
      #expect(rm == 0, "rm: \(rmError)")
      let (status, stderr) = try runCalib(record(round % 2 == 0 ? second : first, into: store))
      #expect(status == 0, "record: \(stderr)")
    }
    stop.store(true, ordering: .relaxed)
    while !replayer.isFinished { usleep(10_000) }
    #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 }.prefix(5))")
    #expect(completed.load(ordering: .relaxed) > 0, "some replay completed")
    #expect(try CalibrationStore(path: store).check().isEmpty)
  }

  /// A reader of a run that is gone says so in one line naming the run.
  @Test(arguments: ReaderCommand.allCases) func readerOfARemovedRunNamesIt(command: ReaderCommand) throws {
    let dir = try TemporaryDirectory()
    let input = try SyntheticRecording(in: dir, steps: 2, moduleNames: ["layers.0.proj"], tokens: 8, hidden: 64)
    let store = dir.path("s.sqlite")
    for name in ["kept", "victim"] {
      let arguments = ["record", store, "--run", name, "--recipe", input.recipeFile, "--weights", input.weightsFile, "-q"]
      #expect(try runCalib(arguments + input.stepFiles) == (0, ""))
    }
    #expect(try runCalib(["rm", store, "victim"]) == (0, ""))
    let output = ReaderOutput(try runCalibProcess(command.arguments(store: store)))
    #expect(output.isCleanError(naming: "victim", exitCode: command.errorExitCode), "\(output)")
    #expect(output.stderr.contains("not found"))
  }
}

// MARK: - Readers

extension ConcurrentReaderTests {
  /// Two recordings of the same modules from different seeds, so that bytes read at a
  /// stale offset would change the numbers. The directories live as long as this value.
  struct TwoInputs {
    let dir: TemporaryDirectory
    let secondDir: TemporaryDirectory
    let first: SyntheticRecording
    let second: SyntheticRecording

    init() throws {
      let modules = ["layers.0.proj", "layers.1.proj"]
      dir = try TemporaryDirectory()
      secondDir = try TemporaryDirectory()
      first = try SyntheticRecording(in: dir, steps: 4, moduleNames: modules, tokens: 32, hidden: 128, seed: 1)
      second = try SyntheticRecording(in: secondDir, steps: 4, moduleNames: modules, tokens: 32, hidden: 128, seed: 2)
    }
  }

  /// A command that reads payloads, run against the store while it changes.
  enum ReaderCommand: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case rank
    case diffMetrics = "diff --metrics"

    var testDescription: String { rawValue }

    /// victim first: its recording supplies the samples both runs are measured on.
    func arguments(store: String) -> [String] {
      switch self {
      case .rank: ["rank", store, "victim", "kept", "--format", "json", "--threads", "2"]
      case .diffMetrics: ["diff", store, "victim", "kept", "--metrics", "--format", "json", "--threads", "2"]
      }
    }

    /// The exit status of a failure (`diff` follows diff(1): 1 means "differs").
    var errorExitCode: Int32 { self == .rank ? 1 : 2 }
  }

  /// What a reader printed, compared whole.
  struct ReaderOutput: Hashable, CustomStringConvertible {
    var exitCode: Int32
    var stdout: String
    var stderr: String

    init(_ result: CLIResult) {
      exitCode = result.exitCode
      stdout = result.stdout
      stderr = result.stderr
    }

    /// A failure with exactly one line on stderr that names `run`, and nothing on stdout.
    func isCleanError(naming run: String, exitCode expected: Int32) -> Bool {
      exitCode == expected && stdout.isEmpty && stderr.hasPrefix("Error: ") && stderr.hasSuffix("\n")
        && stderr.dropLast().allSatisfy { !$0.isNewline } && stderr.contains("\"\(run)\"")
    }

    var description: String { "exit \(exitCode), stdout \(stdout.prefix(200).debugDescription), stderr \(stderr.debugDescription)" }
  }

  /// Runs `body` (given its iteration number) at least once and until `stop`, at most 200
  /// times, collecting the failures it describes.
  private static func readLoop(until stop: borrowing Atomic<Bool>, failures: borrowing Mutex<[String]>, _ body: (Int) throws -> String?) {
    var n = 0
    repeat {
      n += 1
      do {
        if let failure = try body(n) { failures.withLock { $0.append(failure) } }
      } catch {
        failures.withLock { $0.append("#\(n): \(error)") }
      }
    } while !stop.load(ordering: .relaxed) && n < 200
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
