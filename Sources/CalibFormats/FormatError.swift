/// Why a safetensors file could not be read or written.
///
/// Every description is a single line naming the file, the tensor where one is involved, what
/// is wrong and what to do about it. Hostile or damaged files always surface as one of these
/// errors, never as a crash or an outsized allocation.
///
/// For example:
/// ```swift
/// do { _ = try SafetensorsFile(path: "x.safetensors") } catch { print(error) }
/// // x.safetensors: file is 3 bytes, shorter than the 8-byte header length prefix; ...
/// ```
public enum FormatError: Error, Equatable, CustomStringConvertible {
  /// The file could not be opened, read, or statted.
  case unreadable(path: String, reason: String)
  /// The file is shorter than the 8-byte little-endian header length prefix.
  case fileTooShort(path: String, size: Int)
  /// The declared header length exceeds the reader's limit.
  case headerTooLarge(path: String, length: UInt64, limit: Int)
  /// The declared header length runs past the end of the file.
  case headerPastEnd(path: String, length: UInt64, fileSize: Int)
  /// The header is not valid UTF-8 JSON / Python literal, not an object, or has bad metadata.
  case invalidHeader(path: String, reason: String)
  /// A header entry lacks `dtype`, `shape` or `data_offsets`, or one has the wrong JSON type.
  case invalidEntry(path: String, tensor: String, reason: String)
  /// A header entry names a dtype this reader does not know.
  case unknownDType(path: String, tensor: String, dtype: String)
  /// A shape has a negative dimension or an element or byte count that overflows `Int`.
  case invalidShape(path: String, tensor: String, shape: [Int])
  /// A tensor's `data_offsets` are negative or have `begin > end`.
  case invalidOffsets(path: String, tensor: String, begin: Int, end: Int)
  /// A tensor's data ends past the end of the file's data section.
  case offsetsPastEnd(path: String, tensor: String, end: Int, dataSize: Int)
  /// Two tensors' byte ranges overlap.
  case overlappingTensors(path: String, tensor: String, other: String)
  /// A tensor's byte range does not match the size its dtype and shape need.
  case sizeMismatch(path: String, tensor: String, expected: Int, actual: Int)
  /// Fewer bytes than a tensor needs could be read (the file shrank after it was opened).
  case truncatedData(path: String, tensor: String, expected: Int, actual: Int)
  /// No tensor of that name is in the file.
  case tensorNotFound(path: String, tensor: String)
  /// A tensor handed to the writer is inconsistent (byte count, shape or name).
  case invalidTensor(path: String, tensor: String, reason: String)
  /// The output file could not be written or moved into place.
  case writeFailed(path: String, reason: String)
  /// The path is a directory, a pipe, a device or a socket: tensors are read at their
  /// offsets, which only a regular file allows.
  case notARegularFile(path: String, kind: String)

  /// A one-line explanation naming the file, the tensor if any, the problem and the remedy.
  public var description: String {
    Self.oneLine(message)
  }

  private var message: String {
    let reexport = "re-export the file"
    switch self {
    case .unreadable(let path, let reason):
      return "\(path): cannot read the file (\(reason)); check the path and its permissions"
    case .notARegularFile(let path, let kind):
      return "\(path) is \(kind), not a regular file: tensors are read at their offsets, "
        + "which needs a file; save the tensors to one and give its path"
    case .fileTooShort(let path, let size):
      return "\(path): file is \(size) bytes, shorter than the 8-byte header length prefix; "
        + "it is truncated or not a safetensors file, \(reexport)"
    case .headerTooLarge(let path, let length, let limit):
      return "\(path): header length \(length) exceeds the \(limit)-byte limit; "
        + "the file is corrupt or not in this format, \(reexport)"
    case .headerPastEnd(let path, let length, let fileSize):
      return "\(path): header length \(length) runs past the end of the \(fileSize)-byte file; "
        + "the file is truncated or corrupt, \(reexport)"
    case .invalidHeader(let path, let reason):
      return "\(path): invalid header: \(reason); \(reexport) with a conforming writer"
    case .invalidEntry(let path, let tensor, let reason):
      return "\(path): tensor '\(tensor)': \(reason); fix the header or \(reexport)"
    case .unknownDType(let path, let tensor, let dtype):
      let known = ElementType.allCases.map(\.rawValue).joined(separator: ", ")
      return "\(path): tensor '\(tensor)': unknown dtype '\(dtype)' (supported: \(known)); "
        + "convert the tensor to a supported dtype"
    case .invalidShape(let path, let tensor, let shape):
      return "\(path): tensor '\(tensor)': shape \(shape) has a negative dimension or too many "
        + "elements; \(reexport)"
    case .invalidOffsets(let path, let tensor, let begin, let end):
      return "\(path): tensor '\(tensor)': data_offsets [\(begin), \(end)] are negative or "
        + "decreasing; the header is corrupt, \(reexport)"
    case .offsetsPastEnd(let path, let tensor, let end, let dataSize):
      return "\(path): tensor '\(tensor)': data ends at byte \(end) but the data section has "
        + "only \(dataSize) bytes; the file is truncated or corrupt, \(reexport)"
    case .overlappingTensors(let path, let tensor, let other):
      return "\(path): tensor '\(tensor)': its bytes overlap those of tensor '\(other)'; "
        + "the header is corrupt, \(reexport)"
    case .sizeMismatch(let path, let tensor, let expected, let actual):
      return "\(path): tensor '\(tensor)': data_offsets span \(actual) bytes but its dtype and "
        + "shape need \(expected); the header is corrupt, \(reexport)"
    case .truncatedData(let path, let tensor, let expected, let actual):
      return "\(path): tensor '\(tensor)': read only \(actual) of \(expected) bytes; the file "
        + "changed or was truncated after opening, reopen it or \(reexport)"
    case .tensorNotFound(let path, let tensor):
      return "\(path): no tensor named '\(tensor)'; check the name against the file's entries"
    case .invalidTensor(let path, let tensor, let reason):
      return "\(path): cannot write tensor '\(tensor)': \(reason); fix the tensor before writing"
    case .writeFailed(let path, let reason):
      return "\(path): cannot write the file (\(reason)); check the directory exists, is "
        + "writable and has free space"
    }
  }

  /// Replaces line breaks and other control characters so the description stays one line.
  private static func oneLine(_ text: String) -> String {
    String(
      String.UnicodeScalarView(
        text.unicodeScalars.map { scalar in
          switch scalar.properties.generalCategory {
          case .control, .lineSeparator, .paragraphSeparator: return " "
          default: return scalar
          }
        }))
  }
}
