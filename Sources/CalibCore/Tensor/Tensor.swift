/// A dense, row-major tensor of float32-stored values in a model dtype: the value every
/// observer and quantizer works on.
///
/// ``dtype`` decides the arithmetic: an ``Observer`` fed a `.bfloat16` tensor computes
/// every operation as torch does on a bf16 tensor (see ``FloatDType``); a `.float32`
/// tensor (the default) is computed in float32. The values are always stored as float32
/// and must be exactly representable in ``dtype`` (checked in debug builds only): decode
/// bf16 or f16 samples exactly, then tag them.
///
/// For example:
/// ```swift
/// let t = Tensor(shape: [2, 3], values: [0, 1, 2, 3, 4, 5])
/// t.elementCount  // 6
/// let b = Tensor(shape: [2], values: [1, 0.5], dtype: .bfloat16)
/// ```
public struct Tensor: Sendable, Equatable {
  /// The extent of each dimension, outermost first. A 0-d tensor has shape `[]`.
  public var shape: [Int]
  /// The elements in row-major order; `values.count == shape.reduce(1, *)`.
  public var values: [Float]
  /// The dtype the values belong to, and so the dtype of arithmetic on them.
  public var dtype: FloatDType

  /// Creates a float32 tensor; traps when the element count does not match the shape.
  public init(shape: [Int], values: [Float]) {
    self.init(shape: shape, values: values, dtype: .float32)
  }

  /// Creates a tensor of a dtype; traps when the element count does not match the shape.
  ///
  /// Debug builds also trap when a value is not exactly representable in `dtype`.
  public init(shape: [Int], values: [Float], dtype: FloatDType) {
    precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
    precondition(
      shape.reduce(1, *) == values.count,
      "shape \(shape) needs \(shape.reduce(1, *)) values, got \(values.count)")
    assert(dtype == .float32 || values.allSatisfy(dtype.represents), "values not representable in \(dtype)")
    self.shape = shape
    self.values = values
    self.dtype = dtype
  }

  /// Creates a float32 tensor of the given shape filled with one value.
  public init(shape: [Int], repeating value: Float) {
    self.init(shape: shape, values: Array(repeating: value, count: shape.reduce(1, *)))
  }

  /// The number of elements, the product of the shape.
  public var elementCount: Int { values.count }

  /// Whether the tensor holds no elements (for example an MoE expert that got no tokens).
  public var isEmpty: Bool { values.isEmpty }
}
