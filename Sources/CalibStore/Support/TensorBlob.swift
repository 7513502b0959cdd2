import CalibCore
import Foundation

/// The store's encoding of small float32 tensors (scales, zero points, ranges): a BLOB of
/// little-endian float32 values, row-major, and the shape as a JSON array text.
enum TensorBlob {
  /// Little-endian float32 bytes of `values`.
  static func data(_ values: [Float]) -> Data {
    var data = Data(count: values.count * 4)
    data.withUnsafeMutableBytes { raw in
      for (i, v) in values.enumerated() {
        raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self)
      }
    }
    return data
  }

  /// The float32 values of a BLOB written by ``data(_:)``.
  static func values(_ data: Data) -> [Float] {
    data.withUnsafeBytes { raw in
      (0..<(raw.count / 4)).map {
        Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
      }
    }
  }

  /// `[2,3]` for a shape.
  static func shapeText(_ shape: [Int]) -> String {
    "[" + shape.map(String.init).joined(separator: ",") + "]"
  }

  /// The shape in a JSON array text, or `nil` when malformed.
  static func shape(_ text: String) -> [Int]? {
    let inner = text.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
    if inner.isEmpty { return [] }
    let parts = inner.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard parts.allSatisfy({ $0 != nil && $0! >= 0 }) else { return nil }
    return parts.compactMap { $0 }
  }

  /// A tensor from a shape text and a BLOB, or `nil` when either is missing or they
  /// disagree.
  /// - Parameter dtype: a torch dtype name; values it cannot hold (a damaged row) are
  ///   read as float32 rather than trusted.
  static func tensor(shape: String?, data: Data?, dtype: String? = nil) -> Tensor? {
    guard let shape, let data, let dims = Self.shape(shape) else { return nil }
    let values = values(data)
    guard dims.reduce(1, *) == values.count else { return nil }
    let floatDType = dtype.flatMap(TorchDType.init(name:)).flatMap(FloatDType.init) ?? .float32
    return Tensor(shape: dims, values: values, dtype: values.allSatisfy(floatDType.represents) ? floatDType : .float32)
  }
}
