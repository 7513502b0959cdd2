import CalibCore

/// A tensor ready to be written: name, element type, shape and raw little-endian bytes.
///
/// For example:
/// ```swift
/// let t = Tensor(shape: [2], values: [1, -2])
/// RawTensor(name: "w", tensor: t, as: .bf16).bytes  // [0x80, 0x3F, 0x00, 0xC0]
/// ```
public struct RawTensor: Sendable, Equatable {
  /// The tensor's key in the file.
  public var name: String
  /// The element type of `bytes`.
  public var dtype: ElementType
  /// The extent of each dimension, outermost first; `[]` for a scalar.
  public var shape: [Int]
  /// The elements in row-major order, little-endian; `shape` product × `dtype.byteWidth` long.
  public var bytes: [UInt8]

  /// Creates a tensor from raw bytes; the writer checks that they match dtype and shape.
  public init(name: String, dtype: ElementType, shape: [Int], bytes: [UInt8]) {
    self.name = name
    self.dtype = dtype
    self.shape = shape
    self.bytes = bytes
  }

  /// Creates a tensor by encoding a float32 tensor as `dtype` (see `ElementType.encode(_:)`).
  public init(name: String, tensor: Tensor, as dtype: ElementType = .f32) {
    self.init(name: name, dtype: dtype, shape: tensor.shape, bytes: dtype.encode(tensor.values))
  }
}
