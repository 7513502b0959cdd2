import CalibCore
import Foundation

/// A safetensors file opened for reading: a validated header and on-demand tensor data.
///
/// Opening reads only the 8-byte length prefix and the header; each tensor's bytes are read
/// from disk when asked for, so files of any size can be opened cheaply. Every failure is a
/// ``FormatError`` naming the file (and tensor). Instances are immutable and can be shared
/// across tasks; each read opens its own file handle.
///
/// For example:
/// ```swift
/// let file = try SafetensorsFile(path: "step-0000.safetensors")
/// file.metadata["step"]                                 // "0"
/// let k = try file.tensor("encoder.layer.0.attention.self.k")
/// k.shape                                               // [2, 12, 48, 32]
/// ```
public final class SafetensorsFile: Sendable {
  /// The path the file was opened from.
  public let path: String
  /// The validated header.
  public let header: SafetensorsHeader
  /// The length of the header JSON in bytes, including any padding.
  public let headerLength: Int
  /// The total size of the file in bytes when it was opened.
  public let fileSize: Int
  private let indexByName: [String: Int]

  /// Opens `path`, reads the header and validates it against the file size.
  public init(path: String) throws {
    let handle = try ReadHandle(path: path)
    defer { handle.close() }
    let size = try handle.size()
    guard size >= 8 else { throw FormatError.fileTooShort(path: path, size: size) }
    let prefix = try handle.read(at: 0, count: 8)
    guard prefix.count == 8 else { throw FormatError.fileTooShort(path: path, size: prefix.count) }
    let length = prefix.reversed().reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }
    guard length <= UInt64(SafetensorsHeader.maximumLength) else {
      throw FormatError.headerTooLarge(
        path: path, length: length, limit: SafetensorsHeader.maximumLength)
    }
    let headerLength = Int(length)
    guard headerLength <= size - 8 else {
      throw FormatError.headerPastEnd(path: path, length: length, fileSize: size)
    }
    let json = try handle.read(at: 8, count: headerLength)
    guard json.count == headerLength else {
      throw FormatError.headerPastEnd(path: path, length: length, fileSize: 8 + json.count)
    }
    let header = try SafetensorsHeader(
      parsing: [UInt8](json), dataSectionSize: size - 8 - headerLength, path: path)
    var index: [String: Int] = [:]
    for (position, entry) in header.entries.enumerated() { index[entry.name] = position }
    self.path = path
    self.header = header
    self.headerLength = headerLength
    self.fileSize = size
    self.indexByName = index
  }

  /// The string-to-string `__metadata__` object, empty when the file has none.
  public var metadata: [String: String] { header.metadata }

  /// The tensors in file order (by start offset).
  public var entries: [TensorEntry] { header.entries }

  /// The absolute file offset of the data section (the byte right after the header).
  public var dataStart: Int { 8 + headerLength }

  /// The entry named `name`, or `nil` if the file has no such tensor.
  public func entry(named name: String) -> TensorEntry? {
    indexByName[name].map { header.entries[$0] }
  }

  /// Reads a tensor's raw little-endian bytes and lends them to `body` without copying them
  /// again. The buffer is only valid inside `body`.
  public func withRawBytes<Result>(
    of name: String, _ body: (UnsafeRawBufferPointer) throws -> Result
  ) throws -> Result {
    guard let entry = entry(named: name) else {
      throw FormatError.tensorNotFound(path: path, tensor: name)
    }
    // Map the range instead of copying it: large tensors stream from the page cache.
    if entry.byteCount >= MappedRange.minimumLength,
      let mapped = MappedRange(path: path, offset: dataStart + entry.byteRange.lowerBound, count: entry.byteCount)
    {
      let result = Swift.Result { try body(mapped.bytes) }
      if mapped.unmap() {
        // Part of the range read as zeros: whatever `body` made of them is discarded.
        throw lostMappedBytes(entry)
      }
      return try result.get()
    }
    let data = try read(entry)
    return try data.withUnsafeBytes { try body($0) }
  }

  /// A copy of a tensor's raw little-endian bytes.
  public func rawBytes(of name: String) throws -> [UInt8] {
    try withRawBytes(of: name) { [UInt8]($0) }
  }

  /// Reads a tensor and decodes it to float32 (see `ElementType.decode(_:)`).
  public func tensor(_ name: String) throws -> Tensor {
    guard let entry = entry(named: name) else {
      throw FormatError.tensorNotFound(path: path, tensor: name)
    }
    let data = try read(entry)
    let values = data.withUnsafeBytes { entry.dtype.decode($0) }
    return Tensor(shape: entry.shape, values: values)
  }

  /// Why a mapped read of `entry` lost bytes: the file is shorter than the tensor's end
  /// now, or else the disk failed to read a page.
  private func lostMappedBytes(_ entry: TensorEntry) -> FormatError {
    var info = stat()
    let size = stat(path, &info) == 0 ? Int(info.st_size) : 0
    let start = dataStart + entry.byteRange.lowerBound
    if size < start + entry.byteCount {
      return .truncatedData(path: path, tensor: entry.name, expected: entry.byteCount, actual: max(0, size - start))
    }
    return .unreadable(path: path, reason: "an I/O error while reading tensor '\(entry.name)'")
  }

  /// Reads exactly the entry's bytes, throwing if the file has shrunk since it was opened.
  private func read(_ entry: TensorEntry) throws -> Data {
    let handle = try ReadHandle(path: path)
    defer { handle.close() }
    let data = try handle.read(at: dataStart + entry.byteRange.lowerBound, count: entry.byteCount)
    guard data.count == entry.byteCount else {
      throw FormatError.truncatedData(
        path: path, tensor: entry.name, expected: entry.byteCount, actual: data.count)
    }
    return data
  }
}
