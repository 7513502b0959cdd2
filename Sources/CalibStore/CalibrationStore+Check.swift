import CalibFormats
import Foundation
internal import GRDB

extension CalibrationStore {
  /// Checks SQLite's integrity and every sample against its checksum and shape; returns
  /// one line per problem (empty when the store is sound).
  public func check(progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> [String] {
    try pool.read { db in
      var problems = try String.fetchAll(db, sql: "PRAGMA integrity_check").filter { $0 != "ok" }
      problems += try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").map { row in
        "foreign key violation in table \(row[0] as String? ?? "?") row \(row[1] as Int64? ?? -1)"
      }
      let samples = try Row.fetchAll(
        db,
        sql: """
          SELECT s.id, s.step, s.baseName, s.dtype, s.shape, s.byteCount, s.checksum, m.name AS module, r.name AS run
          FROM sample s JOIN module m ON m.id = s.moduleID JOIN run r ON r.id = s.recordingID ORDER BY s.id
          """)
      for (i, row) in samples.enumerated() {
        let label = "run \(row["run"] as String) sample \(row["module"] as String).\(row["baseName"] as String) step \(row["step"] as Int)"
        let bytes = try BlobIO.read(db, table: "sample", column: "data", rowID: row["id"])
        let declared: Int = row["byteCount"]
        let expected = (TensorBlob.shape(row["shape"]) ?? [-1]).reduce(1, *)
          * (ElementType(rawValue: row["dtype"])?.byteWidth ?? -1)
        if bytes.count != declared || bytes.count != expected {
          problems.append("\(label): \(bytes.count) bytes, expected \(expected)")
        } else if bytes.withUnsafeBytes({ XXHash64.hex($0) }) != row["checksum"] as String {
          problems.append("\(label): checksum mismatch")
        }
        progress?(i + 1, samples.count)
      }
      return problems
    }
  }
}
