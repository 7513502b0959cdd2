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
  /// Where the payload starts in the segment file; `nil` when it is inline (v001 rows).
  var payloadOffset: Int64?

  /// Whether the sample holds NaN or ±∞ (recorded with `--allow-nonfinite`).
  public var isNonFinite: Bool { nanCount + infCount > 0 }
}

extension CalibrationStore {
  /// Inserts the row of a sample whose `byteCount`-byte payload is (or is being) written to
  /// the segment at `offset`.
  func insertSample(
    _ db: Database, at offset: Int64, recordingID: Int64, moduleID: Int64, baseName: BaseName, step: Int,
    dtype: ElementType, shape: [Int], byteCount: Int, checksum: String, nanCount: Int, infCount: Int
  ) throws {
    let statement = try db.cachedStatement(
      sql: """
        INSERT OR REPLACE INTO sample
          (recordingID, moduleID, baseName, step, dtype, shape, byteCount, checksum, nanCount, infCount, data, payloadOffset)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, x'', ?)
        """)
    try statement.execute(
      arguments: [
        recordingID, moduleID, baseName.rawValue, step, dtype.rawValue, TensorBlob.shapeText(shape),
        byteCount, checksum, nanCount, infCount, offset,
      ])
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
          s.byteCount, s.checksum, s.nanCount, s.infCount, \(hasPayloadOffsets ? "s.payloadOffset" : "NULL") AS payloadOffset
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
        checksum: row["checksum"], nanCount: row["nanCount"], infCount: row["infCount"], payloadOffset: row["payloadOffset"])
    }
  }

  /// Reads a sample's raw bytes (as recorded).
  ///
  /// - Throws: ``StoreError/corruptSample(module:baseName:step:reason:)`` when the segment
  ///   file ends before the payload.
  public func sampleBytes(_ sample: SampleInfo) throws -> [UInt8] {
    guard let offset = sample.payloadOffset else {
      return try pool.read { db in try InlineSampleIO.read(db, table: "sample", column: "data", rowID: sample.id) }
    }
    guard let bytes = try requireSegment().bytes(at: offset, count: sample.byteCount) else { throw truncated(sample) }
    return bytes
  }

  /// Reads a sample as a float32-arithmetic tensor with its range, checking its size
  /// against its shape. A bf16 or f16 sample keeps its raw bits (see ``readTensor(_:dtype:floats:bits:)``).
  ///
  /// - Throws: ``StoreError/corruptSample(module:baseName:step:reason:)``.
  public func sampleTensor(_ sample: SampleInfo) throws -> Tensor {
    var floats: [Float] = []
    var bits: [UInt16] = []
    return try readTensor(sample, dtype: .float32, floats: &floats, bits: &bits)
  }

  /// Reads a sample as a tensor of `dtype` arithmetic, with its range.
  ///
  /// A bf16 or f16 sample in the payload file is read straight into `bits` and kept as its
  /// raw bits (unless its values do not belong to `dtype`: bf16 in f16 arithmetic, and the
  /// reverse): min/max observers reduce them as they are, and the tensor decodes them to
  /// float32 only if something asks for its values. Other samples are decoded into
  /// `floats`. Either buffer's storage is reused when it has the right size and is not
  /// shared, so a replay worker reads every step of a (module, base name) into one buffer.
  ///
  /// - Throws: ``StoreError/corruptSample(module:baseName:step:reason:)``.
  func readTensor(_ sample: SampleInfo, dtype: FloatDType, floats: inout [Float], bits: inout [UInt16]) throws -> Tensor {
    #if _endian(little)
      if let format = sample.dtype.halfFormat(arithmetic: dtype), let offset = sample.payloadOffset {
        let count = sample.shape.reduce(1, *)
        guard count * 2 == sample.byteCount else { throw sizeMismatch(sample) }
        // Not zero-filled: the read writes every element, or throws.
        if bits.count != count { bits = [UInt16](unsafeUninitializedCapacity: count) { $1 = count } }
        let segment = try requireSegment()
        let range = try bits.withUnsafeMutableBufferPointer { try segment.readHalf(format, at: offset, into: $0) }
        guard let range else { throw truncated(sample) }
        return Tensor(shape: sample.shape, halfBits: bits, format, dtype: dtype, knownRange: range)
      }
    #endif
    let range = try readSample(sample, into: &floats)
    return Tensor(shape: sample.shape, values: floats, dtype: dtype, knownRange: range)
  }

  /// Reads a sample decoded to float32 into `values`, resized to the sample's element
  /// count. When `values` already has that size and is not shared, its storage is reused:
  /// a replay worker decodes every step of a (module, base name) into one buffer.
  ///
  /// - Returns: the range of the values (see ``Tensor/knownRange``).
  /// - Throws: ``StoreError/corruptSample(module:baseName:step:reason:)``.
  @discardableResult
  func readSample(_ sample: SampleInfo, into values: inout [Float]) throws -> ValueRange {
    let count = sample.shape.reduce(1, *)
    guard let offset = sample.payloadOffset else {
      let inline = try pool.read { db in
        try InlineSampleIO.readDecoded(db, table: "sample", column: "data", rowID: sample.id, dtype: sample.dtype, count: count)
      }
      guard let inline else { throw sizeMismatch(sample) }
      values = inline
      return inline.withUnsafeBufferPointer { ValueRange(of: $0) }
    }
    guard count * sample.dtype.byteWidth == sample.byteCount else { throw sizeMismatch(sample) }
    // Not zero-filled: the decode writes every element, or the read throws.
    if values.count != count { values = [Float](unsafeUninitializedCapacity: count) { $1 = count } }
    let segment = try requireSegment()
    let range = try values.withUnsafeMutableBufferPointer { try segment.readDecoded(at: offset, dtype: sample.dtype, into: $0) }
    guard let range else { throw truncated(sample) }
    return range
  }

  private func sizeMismatch(_ sample: SampleInfo) -> StoreError {
    .corruptSample(
      module: sample.module, baseName: sample.baseName.rawValue, step: sample.step,
      reason: "its size does not match shape \(sample.shape) of \(sample.dtype.rawValue)")
  }

  private func truncated(_ sample: SampleInfo) -> StoreError {
    .corruptSample(
      module: sample.module, baseName: sample.baseName.rawValue, step: sample.step,
      reason: "\(segmentPath) ends before its payload")
  }
}
