#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A read-only memory mapping of a byte range of a file, for zero-copy reads of large
/// tensors. `nil` when the range cannot be mapped (the caller then reads it instead) or
/// when the file is shorter than the range, so a truncated file never faults.
struct MappedRange {
  /// Ranges below this size are read with one `read` call instead: a copy of a few MiB
  /// costs less than faulting the pages in and unmapping them, which in a process with
  /// several threads also interrupts the other cores to flush their TLBs.
  static let minimumLength = 4 << 20

  private let base: UnsafeMutableRawPointer
  private let mappedLength: Int
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
    base = pointer
    mappedLength = length
    bytes = UnsafeRawBufferPointer(start: pointer + (offset - start), count: count)
  }

  /// Releases the mapping.
  func unmap() {
    munmap(base, mappedLength)
  }
}
