import Foundation
internal import GRDB
internal import GRDBSQLite

/// Incremental BLOB I/O (`sqlite3_blob_open`/`read`/`write`) so sample payloads stream in
/// and out in chunks instead of being bound or fetched as one value.
enum BlobIO {
  /// Bytes moved per `sqlite3_blob_*` call.
  static let chunkSize = 4 << 20

  struct Failure: Error, CustomStringConvertible {
    let description: String
  }

  /// Writes `bytes` into the BLOB column of a row whose value was created as
  /// `zeroblob(bytes.count)`.
  static func write(
    _ db: Database, table: String, column: String, rowID: Int64, bytes: UnsafeRawBufferPointer
  ) throws {
    guard let connection = db.sqliteConnection else { throw Failure(description: "database is closed") }
    var blob: OpaquePointer?
    let rc = sqlite3_blob_open(connection, "main", table, column, rowID, 1, &blob)
    guard rc == SQLITE_OK, let blob else {
      throw Failure(description: "cannot open blob for writing: \(String(cString: sqlite3_errmsg(connection)))")
    }
    defer { sqlite3_blob_close(blob) }
    var offset = 0
    while offset < bytes.count {
      let n = min(chunkSize, bytes.count - offset)
      let wrc = sqlite3_blob_write(blob, bytes.baseAddress! + offset, Int32(n), Int32(offset))
      guard wrc == SQLITE_OK else {
        throw Failure(description: "blob write failed: \(String(cString: sqlite3_errmsg(connection)))")
      }
      offset += n
    }
  }

  /// Reads a whole BLOB into a new buffer, chunk by chunk.
  static func read(_ db: Database, table: String, column: String, rowID: Int64) throws -> [UInt8] {
    guard let connection = db.sqliteConnection else { throw Failure(description: "database is closed") }
    var blob: OpaquePointer?
    let rc = sqlite3_blob_open(connection, "main", table, column, rowID, 0, &blob)
    guard rc == SQLITE_OK, let blob else {
      throw Failure(description: "cannot open blob: \(String(cString: sqlite3_errmsg(connection)))")
    }
    defer { sqlite3_blob_close(blob) }
    let count = Int(sqlite3_blob_bytes(blob))
    var out = [UInt8](repeating: 0, count: count)
    try out.withUnsafeMutableBytes { dst in
      var offset = 0
      while offset < count {
        let n = min(chunkSize, count - offset)
        let rrc = sqlite3_blob_read(blob, dst.baseAddress! + offset, Int32(n), Int32(offset))
        guard rrc == SQLITE_OK else {
          throw Failure(description: "blob read failed: \(String(cString: sqlite3_errmsg(connection)))")
        }
        offset += n
      }
    }
    return out
  }
}
