import CalibFormats
import Foundation
internal import GRDB
internal import GRDBSQLite

/// Incremental BLOB reads (`sqlite3_blob_open`/`read`), so the inline payloads of schema
/// v001 samples stream out in chunks instead of being fetched as one value. (Since v002,
/// payloads are written to the payload file, ``SampleSegment``.)
enum InlineSampleIO {
  /// Bytes moved per `sqlite3_blob_*` call.
  static let chunkSize = 4 << 20

  struct Failure: Error, CustomStringConvertible {
    let description: String
  }

  /// Opens a BLOB handle; the caller closes it.
  private static func open(_ db: Database, _ table: String, _ column: String, _ rowID: Int64) throws
    -> (OpaquePointer, OpaquePointer)
  {
    guard let connection = db.sqliteConnection else { throw Failure(description: "database is closed") }
    var blob: OpaquePointer?
    let rc = sqlite3_blob_open(connection, "main", table, column, rowID, 0, &blob)
    guard rc == SQLITE_OK, let blob else {
      throw Failure(description: "cannot open blob: \(String(cString: sqlite3_errmsg(connection)))")
    }
    return (connection, blob)
  }

  /// Reads a whole BLOB into a new buffer, chunk by chunk.
  static func read(_ db: Database, table: String, column: String, rowID: Int64) throws -> [UInt8] {
    let (connection, blob) = try open(db, table, column, rowID)
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

  /// Reads a BLOB of `dtype` elements and decodes it to float32 chunk by chunk, without
  /// holding the raw bytes whole.
  ///
  /// - Returns: `nil` when the BLOB's size is not `count` elements of `dtype`.
  static func readDecoded(_ db: Database, table: String, column: String, rowID: Int64, dtype: ElementType, count: Int) throws
    -> [Float]?
  {
    let (connection, blob) = try open(db, table, column, rowID)
    defer { sqlite3_blob_close(blob) }
    let width = dtype.byteWidth
    guard Int(sqlite3_blob_bytes(blob)) == count * width else { return nil }
    // Whole elements per chunk, so a chunk never splits one.
    let chunkElements = max(1, chunkSize / width)
    var scratch = [UInt8](unsafeUninitializedCapacity: min(count, chunkElements) * width) { _, n in
      n = min(count, chunkElements) * width
    }
    var failure: Failure?
    let values = [Float](unsafeUninitializedCapacity: count) { out, initialized in
      var done = 0
      while done < count {
        let n = min(chunkElements, count - done)
        let rrc = scratch.withUnsafeMutableBytes { sqlite3_blob_read(blob, $0.baseAddress!, Int32(n * width), Int32(done * width)) }
        guard rrc == SQLITE_OK else {
          failure = Failure(description: "blob read failed: \(String(cString: sqlite3_errmsg(connection)))")
          break
        }
        scratch.withUnsafeBytes { raw in
          dtype.decode(UnsafeRawBufferPointer(rebasing: raw[0..<(n * width)]), into: UnsafeMutableBufferPointer(rebasing: out[done..<(done + n)]))
        }
        done += n
      }
      // Elements left unread after a failure are zeroed so the array is fully initialized.
      if done < count { UnsafeMutableBufferPointer(rebasing: out[done...]).initialize(repeating: 0) }
      initialized = count
    }
    if let failure { throw failure }
    return values
  }
}
