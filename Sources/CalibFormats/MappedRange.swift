#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import CalibProcess

/// A read-only memory mapping of a byte range of a file, for zero-copy reads of large
/// tensors. `nil` when the range cannot be mapped (the caller then reads it instead) or
/// when the file is shorter than the range.
///
/// A file that shrinks while mapped (another process truncating or rewriting it), or a
/// page the disk fails to read, would raise SIGBUS on the next read and kill the process.
/// The mapping is guarded (`calib_guard_mapping`): such pages read as zeros instead, and
/// ``unmap()`` says so, so that the reader discards what it computed and fails with an
/// error naming the file.
struct MappedRange {
  /// Ranges below this size are read with one `read` call instead: a copy of a few MiB
  /// costs less than faulting the pages in and unmapping them, which in a process with
  /// several threads also interrupts the other cores to flush their TLBs.
  static let minimumLength = 4 << 20

  private let base: UnsafeMutableRawPointer
  private let mappedLength: Int
  private let guardSlot: Int32
  /// The requested bytes; valid until ``unmap()``.
  let bytes: UnsafeRawBufferPointer

  init?(path: String, offset: Int, count: Int) {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0, Int(info.st_size) >= offset + count, count > 0 else { return nil }
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    let start = offset - offset % page
    let length = count + (offset - start)
    guard let pointer = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, off_t(start)),
      pointer != MAP_FAILED
    else { return nil }
    guardSlot = calib_guard_mapping(pointer, length)
    guard guardSlot >= 0 else {
      // Every guard is taken (64 mappings at once): read the range instead.
      munmap(pointer, length)
      return nil
    }
    base = pointer
    mappedLength = length
    bytes = UnsafeRawBufferPointer(start: pointer + (offset - start), count: count)
  }

  /// Releases the mapping; returns whether some of its bytes could not be read from the
  /// file (it shrank, or the disk failed) and read as zeros instead.
  @discardableResult
  func unmap() -> Bool {
    let lost = calib_unguard_mapping(guardSlot) != 0
    munmap(base, mappedLength)
    return lost
  }
}
