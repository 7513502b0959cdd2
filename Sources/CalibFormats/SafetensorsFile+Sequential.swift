#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

extension SafetensorsFile {
  /// Bytes read at once when small tensors are batched.
  static let sequentialChunk = 4 << 20

  /// Lends the raw little-endian bytes of each of `entries`, in order, to `body(index,
  /// bytes)`; each buffer is valid only during its call.
  ///
  /// Unlike one ``withRawBytes(of:_:)`` per tensor, the file is opened once, and tensors
  /// that follow each other in the file are read together, a few MiB per `pread`, into
  /// one reused buffer; tensors of ``MappedRange/minimumLength`` or more are mapped.
  ///
  /// - Throws: ``FormatError/truncatedData(path:tensor:expected:actual:)`` when the file
  ///   has shrunk since it was opened, ``FormatError/unreadable(path:reason:)`` on a read
  ///   error, or what `body` throws.
  public func forEachRawBytes(of entries: [TensorEntry], _ body: (Int, UnsafeRawBufferPointer) throws -> Void) throws {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw FormatError.unreadable(path: path, reason: String(cString: strerror(errno))) }
    defer { close(fd) }
    let small = entries.lazy.filter { $0.byteCount < MappedRange.minimumLength }.map(\.byteCount).max() ?? 0
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(Self.sequentialChunk, small), alignment: 64)
    defer { buffer.deallocate() }
    var i = 0
    while i < entries.count {
      let first = entries[i]
      if first.byteCount >= MappedRange.minimumLength {
        try withRawBytes(of: first.name) { try body(i, $0) }
        i += 1
        continue
      }
      // The run of small tensors stored back to back that fits the buffer.
      var end = i + 1
      var span = first.byteCount
      while end < entries.count, entries[end].byteCount < MappedRange.minimumLength,
        entries[end].byteRange.lowerBound == entries[end - 1].byteRange.upperBound,
        span + entries[end].byteCount <= buffer.count
      {
        span += entries[end].byteCount
        end += 1
      }
      guard let got = PositionalRead.fill(fd, UnsafeMutableRawBufferPointer(rebasing: buffer[0..<span]), at: Int64(dataStart + first.byteRange.lowerBound))
      else { throw FormatError.unreadable(path: path, reason: String(cString: strerror(errno))) }
      for k in i..<end {
        let start = entries[k].byteRange.lowerBound - first.byteRange.lowerBound
        guard got >= start + entries[k].byteCount else {
          throw FormatError.truncatedData(path: path, tensor: entries[k].name, expected: entries[k].byteCount, actual: max(0, got - start))
        }
        try body(k, UnsafeRawBufferPointer(rebasing: buffer[start..<(start + entries[k].byteCount)]))
      }
      i = end
    }
  }
}
