import CalibCore
import CalibFormats
import CalibKernels
import Foundation

/// The append-only file beside a store, `<store>-samples`, that holds sample payloads
/// (schema v002).
///
/// Layout: a 64-byte header, then payloads back to back, each at the offset its `sample`
/// row names. The header is `CALIBSEG`, a little-endian UInt32 format version (1), four zero
/// bytes, the store's 32-hex-digit token, and zeros; the token pairs the file with the
/// database so a store is never read against another store's samples.
///
/// The database stays the source of truth: bytes past `sampleSegment.endOffset` belong to
/// no committed row (an interrupted step) and are overwritten by the next append, and
/// payloads are written before the transaction that references them commits.
final class SampleSegment: Sendable {
  static let headerSize: Int64 = 64
  static let magic = Array("CALIBSEG".utf8)
  static let formatVersion: UInt32 = 1

  /// Bytes moved per `pread`/`pwrite` when streaming large payloads.
  static let chunkSize = 4 << 20

  let path: String
  private let descriptor: Int32

  /// The segment path of the store at `storePath`.
  static func path(forStore storePath: String) -> String { storePath + "-samples" }

  /// Opens the segment of a store whose database holds `token` and uses `endOffset` bytes.
  ///
  /// A missing file is created (header only) when the store is writable and references no
  /// payload yet.
  ///
  /// - Returns: `nil` for a read-only store that has never written a payload.
  /// - Throws: ``StoreError`` when the file is missing but needed, belongs to another
  ///   store, or cannot be opened.
  static func open(storePath: String, token: String, endOffset: Int64, writable: Bool) throws -> SampleSegment? {
    let path = path(forStore: storePath)
    let fm = FileManager.default
    if !fm.fileExists(atPath: path) {
      if endOffset > headerSize { throw StoreError.segmentMissing(path: path, store: storePath) }
      guard writable else { return nil }
      // Another process opening the same new store may create it first; then it is opened
      // as an existing file below.
      do {
        let segment = try SampleSegment(path: path, flags: O_RDWR | O_CREAT | O_EXCL)
        try segment.write(header(token: token), at: 0)
        return segment
      } catch where fm.fileExists(atPath: path) {
        // fall through
      }
    }
    if writable {
      let mode = (try? fm.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? 0o644
      if mode & 0o222 == 0 { throw StoreError.readOnly(path: path) }
    }
    let segment = try SampleSegment(path: path, flags: writable ? O_RDWR : O_RDONLY)
    var found = [UInt8](repeating: 0, count: Int(headerSize))
    let n = found.withUnsafeMutableBytes { pread(segment.descriptor, $0.baseAddress, $0.count, 0) }
    if n == headerSize && found == header(token: token) { return segment }
    if n == 0 && endOffset <= headerSize {
      // Created, then interrupted before its header; nothing references it yet.
      if writable { try segment.write(header(token: token), at: 0) }
      return segment
    }
    throw StoreError.segmentMismatch(path: path, store: storePath)
  }

  private init(path: String, flags: Int32) throws {
    self.path = path
    let fd = Foundation.open(path, flags | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw StoreError.segmentIO(path: path, reason: String(cString: strerror(errno))) }
    descriptor = fd
  }

  deinit { close(descriptor) }

  static func header(token: String) -> [UInt8] {
    var h = magic
    withUnsafeBytes(of: formatVersion.littleEndian) { h += $0 }
    h += [0, 0, 0, 0]
    h += Array(token.utf8.prefix(32))
    h += [UInt8](repeating: 0, count: Int(headerSize) - h.count)
    return h
  }

  /// Writes `bytes` at `offset` (all of them, retrying short writes).
  func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
    var done = 0
    while done < bytes.count {
      let n = min(Self.chunkSize, bytes.count - done)
      let w = pwrite(descriptor, bytes.baseAddress! + done, n, off_t(offset) + off_t(done))
      if w < 0 && errno == EINTR { continue }
      guard w > 0 else { throw StoreError.segmentIO(path: path, reason: String(cString: strerror(errno))) }
      done += w
    }
  }

  func write(_ bytes: [UInt8], at offset: Int64) throws {
    try bytes.withUnsafeBytes { try write($0, at: offset) }
  }

  /// Fills `buffer` from `offset`.
  ///
  /// - Returns: `false` when the file ends first (a truncated segment).
  func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Bool {
    guard let n = PositionalRead.fill(descriptor, buffer, at: offset) else {
      throw StoreError.segmentIO(path: path, reason: String(cString: strerror(errno)))
    }
    return n == buffer.count
  }

  /// Reads `count` bytes at `offset`.
  ///
  /// - Returns: `nil` when the file ends first.
  func bytes(at offset: Int64, count: Int) throws -> [UInt8]? {
    var complete = true
    let bytes = try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
      complete = try read(into: UnsafeMutableRawBufferPointer(buffer), at: offset)
      initialized = count
    }
    return complete ? bytes : nil
  }

  /// Bytes per `pread` when decoding: small enough that the chunk is still in the core's
  /// cache when it is decoded.
  static let decodeChunk = 256 << 10

  /// Reads `out.count` elements of `dtype` at `offset` and decodes them to float32 into
  /// `out`, a cache-sized chunk at a time, so the raw bytes are never held whole. Each
  /// decoded chunk's min and max are taken while it is still in cache.
  ///
  /// - Returns: the range of the decoded values, or `nil` when the file ends first (`out`
  ///   is then partly filled).
  func readDecoded(at offset: Int64, dtype: ElementType, into out: UnsafeMutableBufferPointer<Float>) throws -> ValueRange? {
    let width = dtype.byteWidth
    let chunkElements = max(1, Self.decodeChunk / width)
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: min(out.count, chunkElements) * width, alignment: 64)
    defer { scratch.deallocate() }
    var done = 0
    var range = ValueRange.empty
    while done < out.count {
      let n = min(chunkElements, out.count - done)
      let chunk = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<(n * width)])
      guard try read(into: chunk, at: offset + Int64(done * width)) else { return nil }
      let decoded = UnsafeMutableBufferPointer(rebasing: out[done..<(done + n)])
      dtype.decode(UnsafeRawBufferPointer(chunk), into: decoded)
      range = range.merging(ValueRange(raw: UnsafeRawBufferPointer(chunk), dtype: dtype, decoded: UnsafeBufferPointer(decoded)))
      done += n
    }
    return range
  }

  /// Reads `out.count` bf16 or f16 values at `offset` straight into `out` as their raw
  /// bits (the host must be little-endian, as the file is), a cache-sized chunk at a time,
  /// taking each chunk's min and max while it is in cache.
  ///
  /// - Returns: the range of the values, or `nil` when the file ends first.
  func readHalf(_ format: HalfFormat, at offset: Int64, into out: UnsafeMutableBufferPointer<UInt16>) throws -> ValueRange? {
    let chunkElements = Self.decodeChunk / 2
    var done = 0
    var range = ValueRange.empty
    while done < out.count {
      let n = min(chunkElements, out.count - done)
      let chunk = UnsafeMutableBufferPointer(rebasing: out[done..<(done + n)])
      guard try read(into: UnsafeMutableRawBufferPointer(chunk), at: offset + Int64(done * 2)) else { return nil }
      range = range.merging(ValueRange(ofHalfBits: UnsafeBufferPointer(chunk), format))
      done += n
    }
    return range
  }

  /// Copies byte ranges of the file at `source`, back to back, to `offset` onward. The
  /// kernel moves the bytes (`sendfile`), so they never pass through user space; where a
  /// file system refuses that, or when `kernelCopy` is false, they go through a small
  /// buffer instead. The copy uses its own descriptors and may run beside reads and writes;
  /// each range's bytes start on their way to the disk once copied (``startWriteback(_:)``).
  func copy(from source: String, ranges: [Range<Int>], to offset: Int64, kernelCopy: Bool = true) throws {
    let input = Foundation.open(source, O_RDONLY | O_CLOEXEC)
    guard input >= 0 else { throw StoreError.segmentIO(path: source, reason: String(cString: strerror(errno))) }
    defer { close(input) }
    let output = Foundation.open(path, O_WRONLY | O_CLOEXEC)
    guard output >= 0 else { throw StoreError.segmentIO(path: path, reason: String(cString: strerror(errno))) }
    defer { close(output) }
    var useKernel = kernelCopy
    var target = offset
    for range in ranges {
      let start = target
      var position = off_t(range.lowerBound)
      var left = range.count
      while left > 0 {
        var n: Int
        if useKernel {
          guard lseek(output, off_t(target), SEEK_SET) == off_t(target) else {
            throw StoreError.segmentIO(path: path, reason: String(cString: strerror(errno)))
          }
          n = sendfile(output, input, &position, min(left, 1 << 30))
          if n < 0 && [EINVAL, ENOSYS, EOPNOTSUPP, EXDEV].contains(errno) {
            useKernel = false
            continue
          }
        } else {
          n = try bufferedCopy(input, at: Int64(position), count: min(left, Self.decodeChunk), to: target)
          if n > 0 { position += off_t(n) }  // an interrupted read (-1, EINTR) moved nothing
        }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else {
          throw StoreError.segmentIO(path: path, reason: n == 0 ? "\(source) ended early" : String(cString: strerror(errno)))
        }
        left -= n
        target += Int64(n)
      }
      startWriteback(start..<target)
    }
  }

  /// Reads up to `count` bytes of `input` at `position` and writes them at `target`;
  /// returns how many (0 at the end of `input`, -1 with `errno` on a read error).
  private func bufferedCopy(_ input: Int32, at position: Int64, count: Int, to target: Int64) throws -> Int {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 64)
    defer { buffer.deallocate() }
    let n = pread(input, buffer.baseAddress, count, off_t(position))
    if n > 0 { try write(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), at: target) }
    return n
  }

  /// The file's size in bytes.
  var size: Int64 {
    var info = stat()
    return fstat(descriptor, &info) == 0 ? Int64(info.st_size) : 0
  }

  /// The disk space the file takes: its allocated blocks, which holes do not count.
  var allocatedBytes: Int64 {
    var info = stat()
    return fstat(descriptor, &info) == 0 ? Int64(info.st_blocks) * 512 : 0
  }

  /// Forces written payloads to disk (`fdatasync`).
  func synchronize() throws {
    guard fdatasync(descriptor) == 0 else {
      throw StoreError.segmentIO(path: path, reason: String(cString: strerror(errno)))
    }
  }

  /// Asks the kernel to start writing `range` to the disk now, without waiting and without
  /// making it durable (``synchronize()`` still does that). Payloads written this way keep
  /// the disk busy while the recorder observes the next tensors, so a later `fdatasync`
  /// waits only for the tail. Failure is harmless (the bytes stay dirty until that sync),
  /// so it is ignored.
  func startWriteback(_ range: Range<Int64>) {
    guard !range.isEmpty else { return }
    _ = calib_start_writeback(descriptor, range.lowerBound, Int64(range.count))
  }

  /// Cuts the file to `length` bytes (after removing the recordings at its end) and makes
  /// the cut durable before any append can reuse the space.
  func truncate(to length: Int64) throws {
    guard ftruncate(descriptor, off_t(length)) == 0, fsync(descriptor) == 0 else {
      throw StoreError.segmentIO(path: path, reason: String(cString: strerror(errno)))
    }
  }

  /// Gives the file system back the whole blocks inside `range`, which no row references:
  /// they read as zeros afterwards and take no disk space (`fallocate` with
  /// `FALLOC_FL_PUNCH_HOLE`, `F_PUNCHHOLE` on macOS); the file keeps its size and every
  /// other byte. Blocks that are already a hole are skipped (`SEEK_DATA`).
  ///
  /// - Returns: the bytes given back; 0 where the file system cannot punch holes.
  func punchHole(_ range: Range<Int64>) -> Int64 {
    var info = stat()
    guard fstat(descriptor, &info) == 0 else { return 0 }
    let block = Int64(max(info.st_blksize, 512))
    let start = (range.lowerBound + block - 1) / block * block
    let end = range.upperBound / block * block
    guard start < end else { return 0 }
    // Already a hole when the next data lies past it (or there is none).
    let data = calib_next_data(descriptor, start)
    if data < 0 || data >= end { return 0 }
    let punched = calib_punch_hole(descriptor, start, end - start) == 0
    return punched ? end - start : 0
  }

  /// Runs `body` holding a shared lock on the file (`flock`): readers hold it while they
  /// read payloads at offsets they fetched, so no space they read is given back and
  /// overwritten under them.
  func whileReading<T>(_ body: () throws -> T) rethrows -> T {
    while flock(descriptor, LOCK_SH) != 0 && errno == EINTR {}
    defer { flock(descriptor, LOCK_UN) }
    return try body()
  }

  /// Runs `body` holding the exclusive lock, if no reader holds the shared one; returns
  /// `nil` without running it otherwise.
  func ifNoReaders<T>(_ body: () throws -> T) rethrows -> T? {
    guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { return nil }
    defer { flock(descriptor, LOCK_UN) }
    return try body()
  }
}
