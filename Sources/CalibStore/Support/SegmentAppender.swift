import Foundation
internal import GRDB

/// Appends sample payloads to the segment file inside one write transaction.
///
/// It starts at the committed `sampleSegment.endOffset` (bytes after it belong to no row)
/// and ``finish(_:)`` stores the new end in the same transaction, so a step's
/// rows and its end offset commit together, and a crash mid-step leaves only unreferenced
/// bytes that the next append overwrites. Appends happen only while SQLite's write lock is
/// held, so two writers never interleave.
///
/// Durability: payloads are `fdatasync`ed once ``syncInterval`` committed bytes are
/// waiting and when a run completes, and `syncedOffset` remembers how far. After a power
/// loss, the rows of an unfinished recording past that offset may point at bytes that never
/// reached the disk; ``CalibrationStore/verifyUnsyncedSamples(recordingID:)`` finds them
/// before the recording resumes.
///
/// Neither kind of wait stalls the recorder for long:
/// - every payload is handed to the disk as soon as it is written
///   (``SampleSegment/startWriteback(_:)``), so the disk writes while the recorder reads and
///   observes the next tensors;
/// - the interval's sync runs on another thread while this transaction writes its own
///   payloads, and only its end is waited for, in ``finish(_:)``. It covers the
///   bytes committed before this transaction began (read under the write lock, so no other
///   writer can change them meanwhile), so at most ``syncInterval`` plus one transaction's
///   bytes are ever committed unsynced. A sync of its own, inside the transaction, cost a
///   32-layer recording 0.5–1 s per step on a disk that flushes its cache on each.
struct SegmentAppender {
  /// Committed bytes that may wait for an `fdatasync`.
  static let syncInterval: Int64 = 256 << 20

  let segment: SampleSegment
  private(set) var end: Int64
  private var synced: Int64
  /// Whether ``finish(_:)`` makes every payload durable (a run's completion).
  private let synchronizing: Bool
  /// The sync started when this transaction began, and the offset it makes durable.
  private var pendingSync: (work: BackgroundWork, through: Int64)?

  /// Reads the committed end; starts a background sync of the committed bytes when
  /// `syncInterval` of them wait, unless ``finish(_:)`` will synchronize everything anyway
  /// (`synchronizing`).
  init(_ db: Database, segment: SampleSegment, synchronizing: Bool = false, syncInterval: Int64 = Self.syncInterval) throws {
    self.segment = segment
    self.synchronizing = synchronizing
    let row = try Row.fetchOne(db, sql: "SELECT endOffset, syncedOffset FROM sampleSegment")
    end = row?["endOffset"] ?? SampleSegment.headerSize
    synced = row?["syncedOffset"] ?? SampleSegment.headerSize
    if !synchronizing && end - synced >= syncInterval {
      pendingSync = (BackgroundWork(on: BackgroundWork.synchronizations) { try segment.synchronize() }, end)
    }
  }

  /// Writes `bytes` at the end and returns their offset.
  mutating func append(_ bytes: UnsafeRawBufferPointer) throws -> Int64 {
    let offset = reserve(bytes.count)
    try segment.write(bytes, at: offset)
    segment.startWriteback(offset..<end)
    return offset
  }

  /// Reserves `count` bytes at the end for a payload written separately (see
  /// ``SampleSegment/copy(from:ranges:to:)``) and returns their offset.
  mutating func reserve(_ count: Int) -> Int64 {
    let offset = end
    end += Int64(count)
    return offset
  }

  /// Stores the new end offset and how far the payloads are durable: waits for the sync
  /// started in `init`, if any, and synchronizes everything first when `synchronizing`.
  mutating func finish(_ db: Database) throws {
    if let (work, through) = pendingSync {
      try work.wait()
      synced = through  // the end when it began, at least the synced offset then
      pendingSync = nil
    }
    if synchronizing && end > synced {
      try segment.synchronize()
      synced = end
    }
    try db.execute(sql: "UPDATE sampleSegment SET endOffset = ?, syncedOffset = ?", arguments: [end, synced])
  }
}

extension CalibrationStore {
  /// Runs `body` with an appender positioned at the segment's end, then records the new
  /// end. Call inside a write transaction.
  func appendingSamples<T>(_ db: Database, synchronize: Bool = false, _ body: (inout SegmentAppender) throws -> T) throws -> T {
    var appender = try SegmentAppender(db, segment: try requireSegment(), synchronizing: synchronize)
    let result = try body(&appender)
    try appender.finish(db)
    return result
  }

  /// Makes every payload written so far durable (`fdatasync`) and records that in
  /// `syncedOffset`. Call inside a write transaction.
  func synchronizeSamples(_ db: Database) throws {
    try appendingSamples(db, synchronize: true) { _ in }
  }
}
