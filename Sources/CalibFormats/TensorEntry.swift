/// One tensor listed in a safetensors header: its name, element type, shape and byte range.
///
/// `byteRange` is relative to the start of the data section (the byte right after the header),
/// exactly as the header's `data_offsets`.
public struct TensorEntry: Sendable, Equatable {
  /// The tensor's key in the header.
  public var name: String
  /// The element type of the stored bytes.
  public var dtype: ElementType
  /// The extent of each dimension, outermost first; `[]` for a scalar.
  public var shape: [Int]
  /// The tensor's bytes, relative to the start of the data section.
  public var byteRange: Range<Int>

  /// Creates an entry; ``SafetensorsHeader`` validates entries read from files.
  public init(name: String, dtype: ElementType, shape: [Int], byteRange: Range<Int>) {
    self.name = name
    self.dtype = dtype
    self.shape = shape
    self.byteRange = byteRange
  }

  /// The number of elements, the product of the shape (0 if the shape is negative or
  /// overflows, which never happens for entries read from a file).
  public var elementCount: Int { ShapeMath.counts(of: shape, byteWidth: 1)?.elements ?? 0 }

  /// The number of bytes the tensor's data occupies.
  public var byteCount: Int { byteRange.count }
}
