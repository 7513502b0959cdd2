#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `pread` until a buffer is full: the loop every reader of file ranges needs (short reads
/// and `EINTR` retried), shared by the safetensors reader and the store's payload file.
public enum PositionalRead {
  /// Reads from `fd` at `offset` into `buffer` until it is full or the file ends.
  ///
  /// - Returns: the bytes read (fewer than `buffer.count` only at the end of the file),
  ///   or `nil` on a read error, with `errno` set.
  public static func fill(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, at offset: Int64) -> Int? {
    var done = 0
    while done < buffer.count {
      let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
      if n < 0 && errno == EINTR { continue }
      if n < 0 { return nil }
      if n == 0 { break }
      done += n
    }
    return done
  }
}
