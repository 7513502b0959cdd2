import Foundation
internal import GRDB

extension CalibrationStore {
  /// Records the fingerprints of a recording's input files (table `runInput`, v003).
  func recordInputs(_ db: Database, runID: Int64, role: RecordedInput.Role, _ inputs: [(Int, InputFingerprint)]) throws {
    guard try db.tableExists("runInput") else { return }
    for (position, input) in inputs {
      try db.execute(
        sql: "INSERT OR REPLACE INTO runInput (runID, position, role, path, byteCount, checksum) VALUES (?, ?, ?, ?, ?, ?)",
        arguments: [runID, position, role.rawValue, input.path, input.byteCount, input.checksum])
    }
  }

  /// The input files a recording remembers, weights first, then steps in order.
  func recordedInputs(_ db: Database, runID: Int64) throws -> [RecordedInput] {
    guard try db.tableExists("runInput") else { return [] }
    return try Row.fetchAll(
      db, sql: "SELECT * FROM runInput WHERE runID = ? ORDER BY role = 'step', position", arguments: [runID]
    ).compactMap { row in
      guard let role = RecordedInput.Role(rawValue: row["role"]) else { return nil }
      return RecordedInput(role: role, position: row["position"], path: row["path"], byteCount: row["byteCount"], checksum: row["checksum"])
    }
  }

  /// The modules whose weights a recording kept as samples.
  func weightSampleModules(_ db: Database, recordingID: Int64) throws -> Set<String> {
    try String.fetchSet(
      db,
      sql: "SELECT m.name FROM sample s JOIN module m ON m.id = s.moduleID WHERE s.recordingID = ? AND s.baseName = 'weight'",
      arguments: [recordingID])
  }
}
