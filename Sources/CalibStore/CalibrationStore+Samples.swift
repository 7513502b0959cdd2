import CalibCore
import CalibFormats
import Foundation
internal import GRDB

/// A stored sample's description (its data is read separately).
public struct SampleInfo: Sendable, Equatable {
  public var id: Int64
  public var module: String
  public var moduleType: String?
  public var baseName: BaseName
  public var step: Int
  public var dtype: ElementType
  public var shape: [Int]
  public var byteCount: Int
  public var checksum: String
  public var nanCount: Int
  public var infCount: Int

  /// Whether the sample holds NaN or ±∞ (recorded with `--allow-nonfinite`).
  public var isNonFinite: Bool { nanCount + infCount > 0 }
}

extension CalibrationStore {
  /// Inserts a sample, streaming its bytes into the BLOB, and returns its checksum.
  @discardableResult
  func insertSample(
    _ db: Database, recordingID: Int64, moduleID: Int64, baseName: BaseName, step: Int,
    dtype: ElementType, shape: [Int], bytes: UnsafeRawBufferPointer, nanCount: Int, infCount: Int
  ) throws -> String {
    let checksum = XXHash64.hex(bytes)
    let statement = try db.cachedStatement(
      sql: """
        INSERT OR REPLACE INTO sample
          (recordingID, moduleID, baseName, step, dtype, shape, byteCount, checksum, nanCount, infCount, data)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, zeroblob(?))
        """)
    try statement.execute(
      arguments: [
        recordingID, moduleID, baseName.rawValue, step, dtype.rawValue, TensorBlob.shapeText(shape),
        bytes.count, checksum, nanCount, infCount, bytes.count,
      ])
    try BlobIO.write(db, table: "sample", column: "data", rowID: db.lastInsertedRowID, bytes: bytes)
    return checksum
  }

  /// The samples of a recording, in (step, module, base name) order.
  public func samples(ofRecording recording: String) throws -> [SampleInfo] {
    try pool.read { db in
      let run = try requireRun(db, named: recording)
      return try fetchSamples(db, recordingID: run.recordingID ?? run.id ?? -1)
    }
  }

  func fetchSamples(_ db: Database, recordingID: Int64) throws -> [SampleInfo] {
    let rows = try Row.fetchAll(
      db,
      sql: """
        SELECT s.id, m.name AS module, m.type AS moduleType, s.baseName, s.step, s.dtype, s.shape,
          s.byteCount, s.checksum, s.nanCount, s.infCount
        FROM sample s JOIN module m ON m.id = s.moduleID
        WHERE s.recordingID = ? ORDER BY s.step, s.id
        """, arguments: [recordingID])
    return rows.compactMap { row in
      guard let base = BaseName(rawValue: row["baseName"]), let dtype = ElementType(rawValue: row["dtype"]),
        let shape = TensorBlob.shape(row["shape"])
      else { return nil }
      return SampleInfo(
        id: row["id"], module: row["module"], moduleType: row["moduleType"], baseName: base,
        step: row["step"], dtype: dtype, shape: shape, byteCount: row["byteCount"],
        checksum: row["checksum"], nanCount: row["nanCount"], infCount: row["infCount"])
    }
  }

  /// Reads a sample's raw bytes (as recorded).
  public func sampleBytes(_ sample: SampleInfo) throws -> [UInt8] {
    try pool.read { db in try BlobIO.read(db, table: "sample", column: "data", rowID: sample.id) }
  }

  /// Reads a sample decoded to float32, checking its size against its shape.
  ///
  /// - Throws: ``StoreError/corruptSample(module:baseName:step:reason:)``.
  public func sampleTensor(_ sample: SampleInfo) throws -> Tensor {
    let count = sample.shape.reduce(1, *)
    let values = try pool.read { db in
      try BlobIO.readDecoded(db, table: "sample", column: "data", rowID: sample.id, dtype: sample.dtype, count: count)
    }
    guard let values else {
      throw StoreError.corruptSample(
        module: sample.module, baseName: sample.baseName.rawValue, step: sample.step,
        reason: "its size does not match shape \(sample.shape) of \(sample.dtype.rawValue)")
    }
    return Tensor(shape: sample.shape, values: values)
  }
}
