import CalibCore
import Foundation

/// A NumPy `.npy` file (format versions 1.0, 2.0 and 3.0) opened for reading.
///
/// Opening reads and validates the preamble and header dict (`descr`, `fortran_order`,
/// `shape`) and checks the file size against them; ``tensor()`` then reads the data and
/// widens it to float32. Supported dtypes are `f2`, `f4`, `f8`, `i1`, `u1`, `i4`, `i8` and
/// `b1` in either byte order; C order only.
///
/// For example:
/// ```swift
/// let npy = try NpyFile(path: "x.npy")  // saved by numpy.save(np.zeros((2, 3), "<f4"))
/// npy.shape                              // [2, 3]
/// try npy.tensor().values.count          // 6
/// ```
public struct NpyFile: Sendable, Equatable {
  /// The largest header dict accepted, in bytes (numpy itself refuses more than 10 000).
  public static let maximumHeaderLength = 1_000_000

  /// The path the file was opened from.
  public let path: String
  /// The format's major version: 1, 2 or 3.
  public let majorVersion: Int
  /// The format's minor version, always 0.
  public let minorVersion: Int
  /// The header's `descr` string, for example `<f4`.
  public let descr: String
  /// The element type `descr` denotes.
  public let elementType: ElementType
  /// Whether multi-byte elements are stored big-endian (`descr` starts with `>`).
  public let isBigEndian: Bool
  /// The array's shape; `[]` for a 0-d array.
  public let shape: [Int]
  /// The absolute file offset of the first data byte.
  public let dataOffset: Int
  /// The number of data bytes, the product of the shape times the element width.
  public let dataByteCount: Int

  /// Opens `path` and validates its preamble, header and size.
  public init(path: String) throws {
    let handle = try ReadHandle(path: path)
    defer { handle.close() }
    let size = try handle.size()
    let preamble = [UInt8](try handle.read(at: 0, count: min(size, 12)))
    let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
    guard preamble.count >= 8, Array(preamble[0..<6]) == magic else {
      throw FormatError.npyBadMagic(path: path)
    }
    let major = Int(preamble[6])
    let minor = Int(preamble[7])
    guard (1...3).contains(major), minor == 0 else {
      throw FormatError.npyUnsupportedVersion(path: path, major: major, minor: minor)
    }
    let prefixLength = major == 1 ? 10 : 12
    guard preamble.count >= prefixLength else {
      throw FormatError.npyTruncated(path: path, expected: prefixLength, actual: size)
    }
    let lengthBytes = preamble[8..<prefixLength]
    let length = lengthBytes.reversed().reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }
    guard length <= UInt64(Self.maximumHeaderLength) else {
      throw FormatError.headerTooLarge(path: path, length: length, limit: Self.maximumHeaderLength)
    }
    let headerLength = Int(length)
    guard headerLength <= size - prefixLength else {
      throw FormatError.headerPastEnd(path: path, length: length, fileSize: size)
    }
    let text = [UInt8](try handle.read(at: prefixLength, count: headerLength))
    guard text.count == headerLength else {
      throw FormatError.headerPastEnd(path: path, length: length, fileSize: size)
    }
    let header = try Self.parseHeader(text, path: path)
    guard let counts = ShapeMath.counts(of: header.shape, byteWidth: header.type.byteWidth) else {
      throw FormatError.npyInvalidShape(path: path, shape: header.shape)
    }
    let dataOffset = prefixLength + headerLength
    let available = size - dataOffset
    guard available >= counts.bytes else {
      let (needed, overflow) = dataOffset.addingReportingOverflow(counts.bytes)
      throw FormatError.npyTruncated(path: path, expected: overflow ? .max : needed, actual: size)
    }
    guard available == counts.bytes else {
      throw FormatError.npySizeMismatch(path: path, expected: counts.bytes, actual: available)
    }
    self.path = path
    self.majorVersion = major
    self.minorVersion = minor
    self.descr = header.descr
    self.elementType = header.type
    self.isBigEndian = header.bigEndian
    self.shape = header.shape
    self.dataOffset = dataOffset
    self.dataByteCount = counts.bytes
  }

  /// Reads the data and widens it to a float32 tensor.
  public func tensor() throws -> Tensor {
    let handle = try ReadHandle(path: path)
    defer { handle.close() }
    let data = try handle.read(at: dataOffset, count: dataByteCount)
    guard data.count == dataByteCount else {
      throw FormatError.npyTruncated(
        path: path, expected: dataOffset + dataByteCount, actual: dataOffset + data.count)
    }
    let values = data.withUnsafeBytes { elementType.decode($0, bigEndian: isBigEndian) }
    return Tensor(shape: shape, values: values)
  }

  /// The fields of a parsed header dict.
  private struct Header {
    var descr: String
    var type: ElementType
    var bigEndian: Bool
    var shape: [Int]
  }

  /// Parses the header dict and checks `descr`, `fortran_order` and `shape`.
  private static func parseHeader(_ text: [UInt8], path: String) throws -> Header {
    let literal: PythonLiteral
    do {
      literal = try PythonLiteral.parse(text)
    } catch {
      throw FormatError.invalidHeader(
        path: path, reason: "header dict has a syntax error at byte \(error.at): \(error.message)")
    }
    guard case .dict = literal else {
      throw FormatError.invalidHeader(path: path, reason: "header is not a dict")
    }
    guard let descrValue = literal["descr"] else {
      throw FormatError.invalidHeader(path: path, reason: "header has no 'descr'")
    }
    guard case .string(let descr) = descrValue else {
      throw FormatError.npyUnsupportedDescr(path: path, descr: "structured dtype")
    }
    guard case .boolean(let fortranOrder) = literal["fortran_order"] else {
      throw FormatError.invalidHeader(
        path: path, reason: "header has no boolean 'fortran_order'")
    }
    guard case .tuple(let dimensions) = literal["shape"] else {
      throw FormatError.invalidHeader(path: path, reason: "header has no tuple 'shape'")
    }
    var shape: [Int] = []
    for dimension in dimensions {
      guard case .integer(let extent) = dimension else {
        throw FormatError.invalidHeader(path: path, reason: "'shape' must hold integers")
      }
      shape.append(extent)
    }
    guard let (type, bigEndian) = elementType(descr: descr) else {
      throw FormatError.npyUnsupportedDescr(path: path, descr: descr)
    }
    guard !fortranOrder else { throw FormatError.npyFortranOrder(path: path) }
    return Header(descr: descr, type: type, bigEndian: bigEndian, shape: shape)
  }

  /// The element type and byte order a `descr` such as `<f4` or `|b1` denotes, if supported.
  private static func elementType(descr: String) -> (ElementType, Bool)? {
    var code = Substring(descr)
    var bigEndian = false
    if let first = code.first, "<>|=".contains(first) {
      bigEndian = first == ">" || (first == "=" && 1.bigEndian == 1)
      code = code.dropFirst()
    }
    let type: ElementType
    switch code {
    case "f2", "e": type = .f16
    case "f4", "f": type = .f32
    case "f8", "d": type = .f64
    case "i1", "b": type = .i8
    case "u1", "B": type = .u8
    case "i4": type = .i32
    case "i8": type = .i64
    case "b1", "?": type = .bool
    default: return nil
    }
    return (type, bigEndian)
  }
}
