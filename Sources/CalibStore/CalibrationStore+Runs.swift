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
  ///
  /// Payload space at the end of the payload file is given back (see
  /// ``givePayloadSpaceBack()``).
  public func deleteRun(named name: String, force: Bool = false) throws {
    try translatingErrors {
      try pool.write { db in try deleteRunRows(db, run: try requireRun(db, named: name), force: force) }
      _ = try givePayloadSpaceBack()
    }
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
  }

  /// Gives back the payload file's unreferenced space: the tail after the last payload
  /// any row references (removed recordings at the end, an interrupted step's leftovers)
  /// is cut off, and the gaps between referenced payloads (a removed recording followed
  /// by others; the old run of every `record --replace`) become holes that take no disk
  /// space (``SampleSegment/punchHole(_:)``), whole blocks of them. The offsets of the
  /// payloads that stay do not move, so the file's size counts the holes; `du` shows the
  /// space it takes.
  ///
  /// Nothing is given back while a reader (replay, diff, rank, check) holds the file:
  /// it may still read the removed rows' bytes, and a new recording must not overwrite
  /// them. The space is then given back by the next `rm` or `calib gc`.
  ///
  /// - Returns: the bytes given back, or `nil` when readers held the file.
  @discardableResult
  public func givePayloadSpaceBack() throws -> Int64? {
    guard hasPayloadOffsets, let segment else { return 0 }
    return try segment.ifNoReaders { try cutUnreferencedTail(segment) }
  }

  /// The body of ``givePayloadSpaceBack()``, under the payload file's exclusive lock: cuts
  /// the unreferenced tail and punches the gaps; returns the bytes given back.
  @discardableResult
  func cutUnreferencedTail(_ segment: SampleSegment) throws -> Int64 {
    try pool.write { db -> Int64 in
      let (gaps, referenced) = try unreferencedGaps(db)
      let kept = max(referenced, SampleSegment.headerSize)
      let size = segment.size
      // Cut the file and make the cut durable before the smaller end is committed: an
      // append after the commit then writes into space that is really free.
      if size > kept { try segment.truncate(to: kept) }
      try db.execute(
        sql: "UPDATE sampleSegment SET endOffset = min(endOffset, ?1), syncedOffset = min(syncedOffset, ?1)", arguments: [kept])
      // Appends happen under the write lock this transaction holds, at the end only.
      let punched = gaps.reduce(Int64(0)) { $0 + segment.punchHole($1) }
      return max(0, size - kept) + punched
    }
  }

  /// The ranges of the payload file between its header and the end of its last referenced
  /// payload that no sample row references, in order, and that end.
  func unreferencedGaps(_ db: Database) throws -> (gaps: [Range<Int64>], referencedEnd: Int64) {
    var gaps: [Range<Int64>] = []
    var covered = SampleSegment.headerSize
    // Payloads shared by several rows come merged; `covered` is the furthest end so far.
    var payloads = try Self.payloads(db, from: 0)
    while let payload = try payloads.next() {
      if payload.lowerBound > covered { gaps.append(covered..<payload.lowerBound) }
      covered = max(covered, payload.upperBound)
    }
    return (gaps, covered)
  }

  /// Runs `body` as a reader of payloads: removed runs' payload space is not given back
  /// until it returns, so offsets fetched inside it stay valid.
  public func readingPayloads<T>(_ body: () throws -> T) rethrows -> T {
    guard let segment else { return try body() }
    return try segment.whileReading(body)
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
