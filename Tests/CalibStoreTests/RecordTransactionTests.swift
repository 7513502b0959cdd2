import CalibTestSupport
import Foundation
import GRDB
import Synchronization
import Testing

@testable import CalibStore

/// Small steps commit together, so a recording of many small steps does not pay a WAL
/// commit per step; every step still lands in exactly one transaction.
@Suite struct RecordTransactionTests {
  @Test func stepsAreCutWhereTheirBytesReachTheLimit() {
    #expect(Recorder.transactions(stepBytes: [3, 3, 3, 3, 3], from: 0, limit: 6) == [0..<2, 2..<4, 4..<5])
    // A step at or over the limit commits alone.
    #expect(Recorder.transactions(stepBytes: [10, 1, 10, 1], from: 0, limit: 6) == [0..<1, 1..<3, 3..<4])
    // Resuming starts at the first step not yet recorded.
    #expect(Recorder.transactions(stepBytes: [3, 3, 3, 3, 3], from: 3, limit: 6) == [3..<5])
    #expect(Recorder.transactions(stepBytes: [3, 3], from: 2, limit: 6).isEmpty)
    #expect(Recorder.transactions(stepBytes: [], from: 0, limit: 6).isEmpty)
  }

  @Test func everyStepIsInOneTransaction() {
    let bytes = (0..<200).map { ($0 * 7919) % 50 }
    let batches = Recorder.transactions(stepBytes: bytes, from: 13, limit: 64)
    #expect(batches.flatMap { Array($0) } == Array(13..<200))
    for batch in batches.dropLast() { #expect(bytes[batch].reduce(0, +) >= 64) }
    for batch in batches { #expect(bytes[batch].dropLast().reduce(0, +) < 64) }
  }

  /// Many small steps are recorded in one transaction, with every step's samples and
  /// observer states kept, and the segment's end committed with them.
  @Test func smallStepsShareATransactionAndKeepEveryStep() throws {
    let dir = try TemporaryDirectory()
    let input = try SyntheticRecording(in: dir, steps: 12, modules: 2, tokens: 4, hidden: 64)
    let store = try CalibrationStore(path: dir.path("s.sqlite"))
    let recipe = try String(contentsOfFile: input.recipeFile, encoding: .utf8)
    _ = try Recorder(store: store).record(
      RecordRequest(runName: "r", recipe: (recipe, input.recipeFile), weightFiles: [input.weightsFile], stepFiles: input.stepFiles))
    try store.pool.read { db in
      #expect(try Int.fetchOne(db, sql: "SELECT completedSteps FROM run") == 12)
      #expect(try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT step) FROM sample WHERE baseName = 'input'") == 12)
      #expect(try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT step) FROM observerState WHERE baseName = 'input'") == 12)
      let end = try Int64.fetchOne(db, sql: "SELECT endOffset FROM sampleSegment") ?? 0
      let stored = try Int64.fetchOne(db, sql: "SELECT MAX(payloadOffset + byteCount) FROM sample") ?? -1
      #expect(end == stored)
    }
    #expect(try store.check().isEmpty)
  }

  /// Another connection reads the last commit while a recording is under way: steps that
  /// commit alone show up one by one, and small steps that share a transaction show up
  /// together when it commits.
  @Test(arguments: [(1, "in_progress:2"), (Recorder.defaultTransactionBytes, "in_progress:0")])
  func readersSeeARecordingInProgress(limit: Int, expected: String) throws {
    let dir = try TemporaryDirectory()
    let input = try SyntheticRecording(in: dir, steps: 4, modules: 2, tokens: 16, hidden: 128)
    let path = dir.path("s.sqlite")
    var recorder = Recorder(store: try CalibrationStore(path: path))
    recorder.transactionBytes = limit
    let seen = Mutex<[String]>([])
    let recipe = try String(contentsOfFile: input.recipeFile, encoding: .utf8)
    let request = RecordRequest(runName: "r", recipe: (recipe, "r"), weightFiles: [input.weightsFile], stepFiles: input.stepFiles)
    _ = try recorder.record(request) { p in
      // Called inside the recording's write transaction.
      if p.step == 3, let run = try? CalibrationStore(path: path, readOnly: true).runs().first {
        seen.withLock { $0.append("\(run.status.rawValue):\(run.steps)") }
      }
    }
    let views = seen.withLock { $0 }
    #expect(!views.isEmpty && views.allSatisfy { $0 == expected }, "\(views)")
  }
}
