import CalibCore
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes safetensors files: tensors stored contiguously in the order given, plus optional
/// `__metadata__`.
///
/// The header JSON lists `__metadata__` first, then the tensors in order, and is padded with
/// spaces to a multiple of 8 bytes as the reference library does. The file is written to a
/// temporary file in the destination directory, flushed, and renamed into place, so a crash
/// never leaves a partial file under the destination name.
///
/// For example:
/// ```swift
/// var writer = SafetensorsWriter(metadata: ["step": "0"])
/// writer.append(name: "x", tensor: Tensor(shape: [2], values: [1, 2]), as: .bf16)
/// try writer.write(to: "/tmp/out.safetensors")
/// ```
public struct SafetensorsWriter: Sendable {
  /// The tensors to write, in file order.
  public var tensors: [RawTensor]
  /// The string-to-string `__metadata__` object; omitted from the file when empty.
  public var metadata: [String: String]

  /// Creates a writer for the given tensors and metadata.
  public init(tensors: [RawTensor] = [], metadata: [String: String] = [:]) {
    self.tensors = tensors
    self.metadata = metadata
  }

  /// Appends a tensor given as raw little-endian bytes.
  public mutating func append(_ tensor: RawTensor) {
    tensors.append(tensor)
  }

  /// Appends a float32 tensor, encoded as `dtype` (typically `.f32`, `.bf16` or `.f16`).
  public mutating func append(name: String, tensor: Tensor, as dtype: ElementType = .f32) {
    tensors.append(RawTensor(name: name, tensor: tensor, as: dtype))
  }

  /// The header JSON, padded with spaces to a multiple of 8 bytes, after validating every
  /// tensor. `path` only names the destination in error messages.
  public func headerBytes(path: String) throws -> [UInt8] {
    var json = "{"
    var first = true
    if !metadata.isEmpty {
      json += "\"__metadata__\":{"
      json += metadata.keys.sorted().map { key in
        JSONString.quoted(key) + ":" + JSONString.quoted(metadata[key] ?? "")
      }.joined(separator: ",")
      json += "}"
      first = false
    }
    var names = Set<String>()
    var offset = 0
    for tensor in tensors {
      try validate(tensor, path: path, seen: &names)
      let end = offset + tensor.bytes.count
      if !first { json += "," }
      first = false
      json += JSONString.quoted(tensor.name) + ":{\"dtype\":\"" + tensor.dtype.rawValue
      json += "\",\"shape\":[" + tensor.shape.map(String.init).joined(separator: ",")
      json += "],\"data_offsets\":[\(offset),\(end)]}"
      offset = end
    }
    json += "}"
    var bytes = Array(json.utf8)
    let padding = (8 - bytes.count % 8) % 8
    bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: padding))
    guard bytes.count <= SafetensorsHeader.maximumLength else {
      throw FormatError.headerTooLarge(
        path: path, length: UInt64(bytes.count), limit: SafetensorsHeader.maximumLength)
    }
    return bytes
  }

  /// Writes the file to `path` atomically (temporary file, flush, rename).
  public func write(to path: String) throws {
    let header = try headerBytes(path: path)
    let url = URL(fileURLWithPath: path)
    let directory = url.deletingLastPathComponent().path
    let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 16)
    let temporary = directory + "/." + url.lastPathComponent + ".tmp-" + suffix
    guard FileManager.default.createFile(atPath: temporary, contents: nil) else {
      throw FormatError.writeFailed(path: path, reason: "cannot create \(temporary)")
    }
    do {
      let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
      do {
        var prefix = [UInt8](repeating: 0, count: 8)
        var length = UInt64(header.count)
        for i in 0..<8 {
          prefix[i] = UInt8(truncatingIfNeeded: length)
          length >>= 8
        }
        try handle.write(contentsOf: prefix)
        try handle.write(contentsOf: header)
        for tensor in tensors where !tensor.bytes.isEmpty {
          try handle.write(contentsOf: tensor.bytes)
        }
        try handle.synchronize()
        try handle.close()
      } catch {
        try? handle.close()
        throw error
      }
      guard rename(temporary, path) == 0 else {
        let reason = String(cString: strerror(errno))
        throw FormatError.writeFailed(path: path, reason: "cannot rename into place: \(reason)")
      }
    } catch let error as FormatError {
      try? FileManager.default.removeItem(atPath: temporary)
      throw error
    } catch {
      try? FileManager.default.removeItem(atPath: temporary)
      throw FormatError.writeFailed(path: path, reason: ReadHandle.reason(error))
    }
  }

  /// Checks a tensor's name, shape and byte count before it is written.
  private func validate(_ tensor: RawTensor, path: String, seen: inout Set<String>) throws {
    guard tensor.name != "__metadata__" else {
      throw FormatError.invalidTensor(
        path: path, tensor: tensor.name, reason: "the name is reserved for metadata")
    }
    guard seen.insert(tensor.name).inserted else {
      throw FormatError.invalidTensor(
        path: path, tensor: tensor.name, reason: "another tensor has the same name")
    }
    guard let counts = ShapeMath.counts(of: tensor.shape, byteWidth: tensor.dtype.byteWidth)
    else {
      throw FormatError.invalidTensor(
        path: path, tensor: tensor.name,
        reason: "shape \(tensor.shape) has a negative dimension or too many elements")
    }
    guard counts.bytes == tensor.bytes.count else {
      throw FormatError.invalidTensor(
        path: path, tensor: tensor.name,
        reason: "\(tensor.bytes.count) bytes given but \(tensor.dtype.rawValue) shape "
          + "\(tensor.shape) needs \(counts.bytes)")
    }
  }
}
