import ArgumentParser
import Foundation

/// A plain sequential read of whole files, as `cat FILE... > /dev/null` does: the baseline
/// a replay is compared with, warm (pages cached) or cold (dropped first).
enum FileRead {
  /// Reads every byte of `paths` in 8 MiB chunks; returns the byte count.
  @discardableResult
  static func readAll(_ paths: [String]) throws -> Int {
    let chunk = 8 << 20
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 4096)
    defer { buffer.deallocate() }
    var total = 0
    for path in paths {
      let fd = open(path, O_RDONLY)
      guard fd >= 0 else { throw CleanExit.message("cannot open \(path)") }
      defer { close(fd) }
      while true {
        let n = read(fd, buffer, chunk)
        if n < 0 && errno == EINTR { continue }
        guard n >= 0 else { throw CleanExit.message("cannot read \(path)") }
        if n == 0 { break }
        total += n
      }
    }
    return total
  }

  /// Asks the kernel to drop the cached pages of `paths` (only this benchmark's files, not
  /// the system's caches): dirty pages are written first so that they can be dropped.
  static func dropCaches(_ paths: [String]) {
    for path in paths {
      let fd = open(path, O_RDONLY)
      guard fd >= 0 else { continue }
      fdatasync(fd)
      _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED))
      close(fd)
    }
  }
}
