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
          note: row["note"], settingsDiff: row["settingsDiff"], recipe: row["recipe"])
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
  public func deleteRun(named name: String) throws {
    try pool.write { db in
      let run = try requireRun(db, named: name)
      let dependents = try String.fetchAll(
        db, sql: "SELECT name FROM run WHERE recordingID = ? AND id != ? ORDER BY id", arguments: [run.id, run.id])
      if !dependents.isEmpty { throw StoreError.runInUse(name, dependents: dependents) }
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
    // Bytes past the committed end belong to no row; cutting them while holding the write
    // lock cannot race an append.
    try pool.write { db in
      if let segment, let end = try Int64.fetchOne(db, sql: "SELECT endOffset FROM sampleSegment") {
        try segment.truncate(to: end)
      }
    }
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
