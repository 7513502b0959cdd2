import Foundation
internal import GRDB

extension CalibrationStore {
  /// What ``compactPayloads()`` did.
  public struct Compaction: Sendable, Equatable {
    /// Bytes of payloads moved.
    public var moved: Int64 = 0
    /// The payload file's size before and after.
    public var sizeBefore: Int64 = 0
    public var sizeAfter: Int64 = 0
    /// The disk space the payload file takes before and after (its allocated blocks).
    public var diskBefore: Int64 = 0
    public var diskAfter: Int64 = 0
  }

  /// Moves the payloads down over the gaps that removed recordings left between them, then
  /// cuts the file after the last: the file's size becomes what its payloads take, where
  /// ``givePayloadSpaceBack()`` only punches the gaps and leaves the size (tools that copy
  /// without keeping holes, and `ls`, count them).
  ///
  /// The file slides down over each gap of at least ``minimumGap`` bytes, in chunks no
  /// longer than the gap, so that a chunk never overlaps its old place: each move copies a
  /// chunk into unreferenced space and makes it durable (`fdatasync`), and then, in the
  /// same write transaction, points the chunk's rows at the new offset. A crash at any
  /// point leaves every row pointing at a whole copy; the old copy becomes part of the gap.
  /// A chunk is whole payloads (payloads shared by several rows move together); one
  /// payload longer than the gap before it stays where it is, and so does that gap (as a
  /// hole), as do gaps under ``minimumGap``, which would take a transaction per few
  /// payloads to close.
  ///
  /// Holds the exclusive lock on the payload file throughout (no reader reads meanwhile)
  /// and SQLite's write lock while it moves each chunk; other writers wait between chunks.
  ///
  /// - Returns: what moved, or `nil` when a reader held the file and nothing was done.
  public func compactPayloads() throws -> Compaction? {
    guard hasPayloadOffsets, let segment else { return Compaction() }
    return try segment.ifNoReaders {
      var result = Compaction(sizeBefore: segment.size, diskBefore: segment.allocatedBytes)
      var cursor = SampleSegment.headerSize
      while let moved = try moveNextChunk(segment, cursor: &cursor) {
        result.moved += moved
      }
      try cutUnreferencedTail(segment)
      result.sizeAfter = segment.size
      result.diskAfter = segment.allocatedBytes
      return result
    }
  }

  /// Gaps shorter than this (1 MiB) are left as holes.
  static let minimumGap: Int64 = 1 << 20

  /// Moves the payloads after `cursor` down to it, as many whole ones as fit in the gap
  /// before them, and advances `cursor` past them; when there is no gap, the gap is short,
  /// or the first payload does not fit, advances past that payload instead. Returns the
  /// bytes moved, or `nil` when no payload lies at or after `cursor`.
  private func moveNextChunk(_ segment: SampleSegment, cursor: inout Int64) throws -> Int64? {
    let start = cursor
    let step = try pool.write { db -> (end: Int64, moved: Int64)? in
      var payloads = try Self.payloads(db, from: start)
      guard let first = try payloads.next() else { return nil }
      let gap = first.lowerBound - start
      guard gap >= Self.minimumGap, first.count <= gap else { return (first.upperBound, 0) }
      // Whole payloads while the chunk still fits in the gap.
      var end = first.upperBound
      while let next = try payloads.next(), next.upperBound - first.lowerBound <= gap { end = next.upperBound }
      try segment.copy(from: segment.path, ranges: [Int(first.lowerBound)..<Int(end)], to: start)
      try segment.synchronize()
      try db.execute(
        sql: "UPDATE sample SET payloadOffset = payloadOffset - ? WHERE payloadOffset >= ? AND payloadOffset < ?",
        arguments: [gap, first.lowerBound, end])
      return (start + end - first.lowerBound, end - first.lowerBound)
    }
    guard let step else { return nil }
    cursor = step.end
    return step.moved
  }

  /// The referenced payloads at or after `offset`, in file order, with payloads that
  /// overlap (shared by several rows) merged into one.
  struct Payloads {
    fileprivate let rows: RowCursor
    fileprivate var pending: Range<Int64>?

    /// The next payload, or `nil` after the last.
    mutating func next() throws -> Range<Int64>? {
      var current = pending
      pending = nil
      while let row = try rows.next() {
        let (offset, count): (Int64, Int64) = (row[0], row[1])
        guard let c = current else {
          current = offset..<(offset + count)
          continue
        }
        if offset < c.upperBound {
          current = c.lowerBound..<max(c.upperBound, offset + count)
        } else {
          pending = offset..<(offset + count)
          break
        }
      }
      return current
    }
  }

  static func payloads(_ db: Database, from offset: Int64) throws -> Payloads {
    Payloads(
      rows: try Row.fetchCursor(
        db,
        sql: "SELECT payloadOffset, byteCount FROM sample WHERE payloadOffset IS NOT NULL AND payloadOffset >= ? ORDER BY payloadOffset",
        arguments: [offset]),
      pending: nil)
  }
}
