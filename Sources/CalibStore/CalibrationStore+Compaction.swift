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
  /// Payloads move as *islands*: the longest runs of payloads back to back (payloads shared
  /// by several rows move together). An island moves only into the gap just before it, and
  /// only when the gap is at least as long as the island, so it never overlaps its old
  /// place: each move copies the bytes into unreferenced space, makes them durable
  /// (`fdatasync`), and then, in the same write transaction, points the rows at the new
  /// offset. A crash at any point leaves every row pointing at a whole copy; the old copy
  /// becomes a gap. An island longer than the gap before it stays where it is (that gap
  /// keeps its hole), and later islands move down behind it.
  ///
  /// Holds the exclusive lock on the payload file throughout (no reader reads meanwhile)
  /// and SQLite's write lock while it moves each island, a few seconds per GB; other
  /// writers wait for it (up to their 30 s timeout).
  ///
  /// - Returns: what moved, or `nil` when a reader held the file and nothing was done.
  public func compactPayloads() throws -> Compaction? {
    guard hasPayloadOffsets, let segment else { return Compaction() }
    return try segment.ifNoReaders {
      var result = Compaction(sizeBefore: segment.size, diskBefore: segment.allocatedBytes)
      var cursor = SampleSegment.headerSize
      while let moved = try moveNextIsland(segment, cursor: &cursor) {
        result.moved += moved
      }
      try cutUnreferencedTail(segment)
      result.sizeAfter = segment.size
      result.diskAfter = segment.allocatedBytes
      return result
    }
  }

  /// Moves the first island at or after `cursor` down to `cursor` when it fits there, and
  /// advances `cursor` past where it lies now; returns the bytes moved (0 when it stayed),
  /// or `nil` when there is no island left.
  private func moveNextIsland(_ segment: SampleSegment, cursor: inout Int64) throws -> Int64? {
    let start = cursor
    let step = try pool.write { db -> (end: Int64, moved: Int64)? in
      guard let island = try Self.island(db, from: start) else { return nil }
      let length = island.upperBound - island.lowerBound
      guard island.lowerBound - start >= length else { return (island.upperBound, 0) }
      try segment.copy(from: segment.path, ranges: [Int(island.lowerBound)..<Int(island.upperBound)], to: start)
      try segment.synchronize()
      try db.execute(
        sql: "UPDATE sample SET payloadOffset = payloadOffset - ? WHERE payloadOffset >= ? AND payloadOffset < ?",
        arguments: [island.lowerBound - start, island.lowerBound, island.upperBound])
      return (start + length, length)
    }
    guard let step else { return nil }
    cursor = step.end
    return step.moved
  }

  /// The first island at or after `offset`: from the first referenced payload there to
  /// the end of the payloads that follow it back to back (or overlap it).
  static func island(_ db: Database, from offset: Int64) throws -> Range<Int64>? {
    let rows = try Row.fetchCursor(
      db,
      sql: "SELECT payloadOffset, byteCount FROM sample WHERE payloadOffset IS NOT NULL AND payloadOffset >= ? ORDER BY payloadOffset",
      arguments: [offset])
    guard let first = try rows.next() else { return nil }
    let lower: Int64 = first[0]
    var upper: Int64 = lower + (first[1] as Int64)
    while let row = try rows.next() {
      let (next, count): (Int64, Int64) = (row[0], row[1])
      if next > upper { break }
      upper = max(upper, next + count)
    }
    return lower..<upper
  }
}
