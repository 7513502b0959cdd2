import CalibFormats
import Foundation
internal import GRDB

extension CalibrationStore {
  /// Checks SQLite's integrity and every sample against its checksum and shape; returns
  /// one line per problem (empty when the store is sound).
  public func check(progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> [String] {
    try readingPayloads { try checkRows(progress: progress) }
  }

  /// Bytes at the end of the payload file that no row references: what a killed
  /// recording, or a removal while readers were open, leaves. ``givePayloadSpaceBack()``
  /// (`calib gc`) gives them back.
  public func unreferencedTailBytes() throws -> Int64 {
    guard hasPayloadOffsets, let segment else { return 0 }
    let referenced = try pool.read { db in
      try Int64.fetchOne(db, sql: "SELECT max(payloadOffset + byteCount) FROM sample WHERE payloadOffset IS NOT NULL")
    }
    return max(0, segment.size - max(referenced ?? 0, SampleSegment.headerSize))
  }

  private func checkRows(progress: (@Sendable (Int, Int) -> Void)?) throws -> [String] {
    try pool.read { db in
      var problems = try String.fetchAll(db, sql: "PRAGMA integrity_check").filter { $0 != "ok" }
      problems += try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").map { row in
        "foreign key violation in table \(row[0] as String? ?? "?") row \(row[1] as Int64? ?? -1)"
      }
      let samples = try Row.fetchAll(
        db,
        sql: """
          SELECT s.id, s.step, s.baseName, s.dtype, s.shape, s.byteCount, s.checksum, m.name AS module, r.name AS run,
            \(hasPayloadOffsets ? "s.payloadOffset" : "NULL") AS payloadOffset
          FROM sample s JOIN module m ON m.id = s.moduleID JOIN run r ON r.id = s.recordingID ORDER BY s.id
          """)
      for (i, row) in samples.enumerated() {
        let label = "run \(row["run"] as String) sample \(row["module"] as String).\(row["baseName"] as String) step \(row["step"] as Int)"
        let declared: Int = row["byteCount"]
        let payload: [UInt8]?
        if let offset = row["payloadOffset"] as Int64? {
          payload = try requireSegment().bytes(at: offset, count: declared)
        } else {
          payload = try InlineSampleIO.read(db, table: "sample", column: "data", rowID: row["id"])
        }
        let expected = (TensorBlob.shape(row["shape"]) ?? [-1]).reduce(1, *)
          * (ElementType(rawValue: row["dtype"])?.byteWidth ?? -1)
        guard let bytes = payload else {
          problems.append("\(label): \(segmentPath) ends before its payload")
          progress?(i + 1, samples.count)
          continue
        }
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

extension CalibrationStore {
  /// The samples of a recording whose payloads lie past the segment's synchronized offset
  /// and no longer match their checksum (or are cut short): what a power loss during the
  /// recording can leave behind. Empty for a store without a segment.
  func verifyUnsyncedSamples(recordingID: Int64) throws -> [SampleInfo] {
    guard hasPayloadOffsets else { return [] }
    // As a reader: offsets fetched under the shared lock stay valid (gc moves payloads).
    return try readingPayloads {
      let (samples, synced) = try pool.read { db in
        (try fetchSamples(db, recordingID: recordingID), try Int64.fetchOne(db, sql: "SELECT syncedOffset FROM sampleSegment") ?? 0)
      }
      return samples.filter { sample in
        guard let offset = sample.payloadOffset, offset + Int64(sample.byteCount) > synced else { return false }
        guard let bytes = try? sampleBytes(sample) else { return true }
        return bytes.withUnsafeBytes { XXHash64.hex($0) } != sample.checksum
      }
    }
  }
}
