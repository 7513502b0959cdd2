import Foundation
internal import GRDB

/// A run as listed by `calib runs`.
public struct RunSummary: Sendable, Equatable, Codable {
  public var name: String
  public var kind: RunKind
  public var parent: String?
  public var recording: String?
  public var status: RunStatus
  public var modules: Int
  public var steps: Int
  public var sampleBytes: Int64
  public var createdAt: String
  public var note: String?
  public var settingsDiff: String?
  public var recipe: String?
  /// The observers' arithmetic (`float32` for runs written before schema v003).
  public var arithmetic: Arithmetic
  /// Whether the run is in progress but the process writing it is gone (killed): it
  /// will never finish. `calib rm` removes it; a replay of the same name replaces it.
  public var isStale: Bool
}

extension CalibrationStore {
  /// Every run, oldest first, with its module count, completed steps and sample bytes.
  public func runs() throws -> [RunSummary] {
    try pool.read { db in
      let rows = try Row.fetchAll(
        db,
        sql: """
          SELECT r.*, p.name AS parentName, rec.name AS recordingName,
            (SELECT COUNT(DISTINCT moduleID) FROM qparams q WHERE q.runID = r.id) AS qModules,
            (SELECT COUNT(DISTINCT moduleID) FROM observerState o WHERE o.runID = r.id) AS oModules,
            (SELECT COALESCE(SUM(byteCount), 0) FROM sample s WHERE s.recordingID = r.id) AS bytes
          FROM run r
          LEFT JOIN run p ON p.id = r.parentID
          LEFT JOIN run rec ON rec.id = r.recordingID
          ORDER BY r.id
          """)
      return rows.map { row in
        RunSummary(
          name: row["name"], kind: RunKind(rawValue: row["kind"]) ?? .recorded,
          parent: row["parentName"], recording: row["recordingName"],
          status: RunStatus(rawValue: row["status"]) ?? .failed,
          modules: max(row["qModules"] as Int, row["oModules"] as Int),
          steps: row["completedSteps"], sampleBytes: row["bytes"], createdAt: row["createdAt"],
          note: row["note"], settingsDiff: row["settingsDiff"], recipe: row["recipe"],
          arithmetic: (row["arithmetic"] as String?).flatMap(Arithmetic.init(rawValue:)) ?? .float32,
          isStale: row["status"] == RunStatus.inProgress.rawValue && RunOwner.isGone(row["owner"]))
      }
    }
  }

  /// The run named `name`.
  ///
  /// - Throws: ``StoreError/runNotFound(_:store:)``.
  public func run(named name: String) throws -> RunSummary {
    guard let run = try runs().first(where: { $0.name == name }) else {
      throw StoreError.runNotFound(name, store: path)
    }
    return run
  }

  func runRecord(_ db: Database, named name: String) throws -> RunRecord? {
    try RunRecord.filter(Column("name") == name).fetchOne(db)
  }

  func requireRun(_ db: Database, named name: String) throws -> RunRecord {
    guard let run = try runRecord(db, named: name) else { throw StoreError.runNotFound(name, store: path) }
    return run
  }

  /// Deletes a run with its states, parameters and (for a recording) samples.
  ///
  /// - Throws: ``StoreError/runNotFound(_:store:)``, or ``StoreError/runInUse(_:dependents:)``
  ///   when replayed runs still read this recording's samples.
  public func deleteRun(named name: String, force: Bool = false) throws {
    try pool.write { db in try deleteRunRows(db, run: try requireRun(db, named: name), force: force) }
    try givePayloadSpaceBack()
  }

  /// Deletes a run's rows (its states, parameters and, for a recording, its samples).
  ///
  /// - Throws: ``StoreError/runInUse(_:dependents:)`` for a recording that other runs
  ///   read, ``StoreError/runBeingWritten(_:store:)`` for a run in progress whose writer
  ///   is still running, unless `force`.
  func deleteRunRows(_ db: Database, run: RunRecord, force: Bool) throws {
    let dependents = try String.fetchAll(
      db, sql: "SELECT name FROM run WHERE recordingID = ? AND id != ? ORDER BY id", arguments: [run.id, run.id])
    if !dependents.isEmpty { throw StoreError.runInUse(run.name, dependents: dependents) }
    if run.status == .inProgress && !force && !RunOwner.isGone(run.owner) {
      throw StoreError.runBeingWritten(run.name, store: path)
    }
    try db.execute(sql: "UPDATE run SET parentID = NULL WHERE parentID = ?", arguments: [run.id])
    try db.execute(sql: "DELETE FROM run WHERE id = ?", arguments: [run.id])
    guard hasPayloadOffsets else { return }
    // Payloads at the end of the segment that no row references any more are given back;
    // those of a recording followed by others stay until the file is rewritten.
    let end = try Int64.fetchOne(db, sql: "SELECT max(payloadOffset + byteCount) FROM sample WHERE payloadOffset IS NOT NULL")
    let kept = max(end ?? 0, SampleSegment.headerSize)
    try db.execute(
      sql: "UPDATE sampleSegment SET endOffset = min(endOffset, ?1), syncedOffset = min(syncedOffset, ?1)", arguments: [kept])
  }

  /// Cuts the payload file to its committed end: bytes past it belong to no row, and
  /// cutting them while holding the write lock cannot race an append.
  func givePayloadSpaceBack() throws {
    try pool.write { db in
      if let segment, let end = try Int64.fetchOne(db, sql: "SELECT endOffset FROM sampleSegment") {
        try segment.truncate(to: end)
      }
    }
  }

  /// Checks, inside a write transaction, that the run a long command writes still exists
  /// and is still in progress: ids are never reused, so a removed run is never mistaken
  /// for a newer one.
  func requireLive(_ db: Database, runID: Int64, name: String) throws {
    let status = try String.fetchOne(db, sql: "SELECT status FROM run WHERE id = ?", arguments: [runID])
    if status != RunStatus.inProgress.rawValue { throw StoreError.runGone(name, store: path) }
  }

  /// Sets a run's status (and, when given, its note).
  public func setStatus(_ status: RunStatus, ofRun name: String, note: String? = nil) throws {
    try pool.write { db in
      try db.execute(
        sql: "UPDATE run SET status = ?, note = COALESCE(?, note) WHERE name = ?",
        arguments: [status.rawValue, note, name])
    }
  }

  func moduleID(_ db: Database, name: String, type: String?) throws -> Int64 {
    if let existing = try ModuleRecord.filter(Column("name") == name).fetchOne(db), let id = existing.id {
      if existing.type == nil, let type {
        try db.execute(sql: "UPDATE module SET type = ? WHERE id = ?", arguments: [type, id])
      }
      return id
    }
    var record = ModuleRecord(id: nil, name: name, type: type)
    try record.insert(db)
    return record.id ?? db.lastInsertedRowID
  }
}
