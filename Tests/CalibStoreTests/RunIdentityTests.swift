import CalibCore
import CalibFormats
import CalibTestSupport
import Foundation
import GRDB
import Testing

@testable import CalibStore

/// No run ever reads or writes another run's rows: ids are never reused, writers re-check
/// their run, replacing is atomic and resuming refuses changed inputs.
@Suite struct RunIdentityTests {
  private func record(_ store: CalibrationStore, _ name: String, _ input: SyntheticRecording, steps: [String]? = nil, replace: Bool = false, resume: Bool = false) throws {
    var request = RecordRequest(
      runName: name, recipe: resume ? nil : (try String(contentsOfFile: input.recipeFile, encoding: .utf8), input.recipeFile),
      weightFiles: [input.weightsFile], stepFiles: steps ?? input.stepFiles)
    request.replace = replace
    request.resume = resume
    _ = try Recorder(store: store).record(request)
  }

  private func runID(_ store: CalibrationStore, _ name: String) throws -> Int64? {
    try store.pool.read { db in try store.runRecord(db, named: name)?.id }
  }

  /// Renames run `stand` to the name a replacement of run `replaced` is recorded under;
  /// with `owner`, in progress and written by that process. Returns the name.
  private func makeReplacement(
    _ store: CalibrationStore, from stand: String, of replaced: String, owner: String? = nil
  ) throws -> String {
    let name = Recorder.replacementName(of: try #require(try runID(store, replaced)))
    try store.pool.write { db in
      try db.execute(
        sql: "UPDATE run SET name = ?, status = ?, owner = ? WHERE name = ?",
        arguments: [name, owner == nil ? "complete" : "in_progress", owner, stand])
    }
    return name
  }

  @Test func removedRunIDsAreNeverReused() throws {
    let dir = try TemporaryDirectory()
    let input = try SyntheticRecording(in: dir, steps: 1, modules: 1, tokens: 4, hidden: 64)
    let store = try CalibrationStore(path: dir.path("s.sqlite"))
    try record(store, "a", input)
    try record(store, "b", input)
    let removed = try #require(try runID(store, "b"))
    try store.deleteRun(named: "b")
    try record(store, "c", input)
    #expect(try runID(store, "c") != removed)
    #expect(try #require(try runID(store, "c")) > removed)
  }

  /// A writer whose run was removed stops instead of writing into the run that took its
  /// place.
  @Test func aWriterWhoseRunWasRemovedStops() throws {
    let dir = try TemporaryDirectory()
    let input = try SyntheticRecording(in: dir, steps: 1, modules: 1, tokens: 4, hidden: 64)
    let store = try CalibrationStore(path: dir.path("s.sqlite"))
    try record(store, "a", input)
    let id = try #require(try runID(store, "a"))
    try store.pool.write { db in try db.execute(sql: "UPDATE run SET status = 'in_progress' WHERE id = ?", arguments: [id]) }
    try store.deleteRun(named: "a", force: true)
    try record(store, "newcomer", input)
    let writer = StateWriter(store: store, run: (id, "a"), moduleIDs: ["layers.0.proj": 1], buffered: false, arithmetic: .model)
    let snapshot = ObserverSnapshot(module: "layers.0.proj", baseName: .input, observer: nil, kwargs: [:], state: ObserverState(), parameters: ModuleParameters())
    #expect(throws: StoreError.runGone("a", store: store.path)) {
      try writer.record([RecordedState(variant: 0, step: 0, snapshot: snapshot)])
    }
    #expect(try store.stepStates(ofRun: "newcomer").allSatisfy { $0.module == "layers.0.proj" })
  }

  /// `--replace` with input that fails half-way leaves the complete old run untouched.
  @Test func aFailedReplaceKeepsTheOldRun() throws {
    let dir = try TemporaryDirectory()
    let input = try SyntheticRecording(in: dir, steps: 2, modules: 1, tokens: 4, hidden: 64)
    let store = try CalibrationStore(path: dir.path("s.sqlite"))
    try record(store, "r", input)
    let before = (try store.stepStates(ofRun: "r"), try store.finalQParams(ofRun: "r"))
    var bad = SafetensorsWriter(metadata: ["step": "1"])
    bad.append(name: "layers.0.proj.input", tensor: Tensor(shape: [1, 4, 64], values: [.nan] + Array(repeating: 1, count: 255)), as: .f32)
    bad.append(name: "layers.0.proj.output", tensor: Tensor(shape: [1, 4, 64], repeating: 1), as: .f32)
    let badPath = dir.path("bad.safetensors")
    try bad.write(to: badPath)
    #expect(throws: InputError.self) { try record(store, "r", input, steps: [input.stepFiles[0], badPath], replace: true) }
    let runs = try store.runs()
    #expect(runs.first { $0.name == "r" }?.status == .complete)
    #expect(try store.stepStates(ofRun: "r") == before.0)
    #expect(try store.finalQParams(ofRun: "r") == before.1)
    // A later replace succeeds and takes the name.
    try record(store, "r", input, replace: true)
    #expect(try store.runs().filter { $0.name.hasPrefix("r") }.map(\.name) == ["r"])
    #expect(try store.finalQParams(ofRun: "r") == before.1)
  }

  /// A complete replacement that was never swapped in (calib before 2026-12-03 renamed it
  /// in a transaction of its own, which a SIGKILL could miss) does not block the next
  /// replace, which removes it.
  @Test func aCompleteReplacementLeftBehindIsRemovedByTheNextReplace() throws {
    let dir = try TemporaryDirectory()
    let input = try SyntheticRecording(in: dir, steps: 1, modules: 1, tokens: 4, hidden: 64)
    let store = try CalibrationStore(path: dir.path("s.sqlite"))
    try record(store, "r", input)
    try record(store, "left", input)
    _ = try makeReplacement(store, from: "left", of: "r")
    try record(store, "r", input, replace: true)
    #expect(try store.runs().map(\.name) == ["r"])
    #expect(try store.runs().first?.status == .complete)
  }

  /// A second `--replace` while a live process replaces the run names the run, not the
  /// replacement's internal name, and leaves the other's replacement alone.
  @Test func aReplaceWhileAnotherIsUnderWayIsRefused() throws {
    let dir = try TemporaryDirectory()
    let input = try SyntheticRecording(in: dir, steps: 1, modules: 1, tokens: 4, hidden: 64)
    let store = try CalibrationStore(path: dir.path("s.sqlite"))
    try record(store, "r", input)
    try record(store, "other", input)
    // "other" stands for the replacement a live process (this one) is writing.
    let replacement = try makeReplacement(store, from: "other", of: "r", owner: RunOwner.current)
    #expect(throws: StoreError.runBeingReplaced("r", store: store.path)) { try record(store, "r", input, replace: true) }
    #expect(try store.runs().map(\.name).sorted() == [replacement, "r"])
  }

  /// `--resume` with other files of the same count names the first changed file.
  @Test func resumeRefusesChangedInputs() throws {
    let dir = try TemporaryDirectory()
    let input = try SyntheticRecording(in: dir, steps: 2, modules: 1, tokens: 4, hidden: 64)
    let otherDir = try TemporaryDirectory()
    let other = try SyntheticRecording(in: otherDir, steps: 2, moduleNames: ["layers.0.proj"], tokens: 4, hidden: 64, seed: 9)
    let store = try CalibrationStore(path: dir.path("s.sqlite"))
    try record(store, "r", input)
    try store.pool.write { db in try db.execute(sql: "UPDATE run SET status = 'failed', completedSteps = 1") }
    #expect(throws: InputError.inputChanged(run: "r", file: other.stepFiles[0])) {
      try record(store, "r", input, steps: [other.stepFiles[0], input.stepFiles[1]], resume: true)
    }
    try record(store, "r", input, resume: true)
    #expect(try store.runs().first?.status == .complete)
  }

  /// `rm` refuses a run that a live process is writing, unless forced; a run whose writer
  /// is gone is stale and removed without force.
  @Test func removingARunInProgress() throws {
    let dir = try TemporaryDirectory()
    let input = try SyntheticRecording(in: dir, steps: 1, modules: 1, tokens: 4, hidden: 64)
    let store = try CalibrationStore(path: dir.path("s.sqlite"))
    try record(store, "live", input)
    try record(store, "killed", input)
    let host = ProcessInfo.processInfo.hostName
    let initStart = try String(contentsOfFile: "/proc/1/stat", encoding: .utf8).split(separator: ")").last?.split(separator: " ")[19]
    try store.pool.write { db in
      try db.execute(sql: "UPDATE run SET status = 'in_progress', owner = ? WHERE name = 'live'", arguments: ["\(host):1:\(initStart ?? "")"])
      try db.execute(sql: "UPDATE run SET status = 'in_progress', owner = ? WHERE name = 'killed'", arguments: ["\(host):999999999:1"])
    }
    let runs = try store.runs()
    #expect(runs.first { $0.name == "live" }?.isStale == false)
    #expect(runs.first { $0.name == "killed" }?.isStale == true)
    #expect(throws: StoreError.runBeingWritten("live", store: store.path)) { try store.deleteRun(named: "live") }
    try store.deleteRun(named: "killed")
    try store.deleteRun(named: "live", force: true)
    #expect(try store.runs().isEmpty)
  }
}
