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
  ///
  /// Changing them forgets ``knownRange``.
  public var values: [Float] {
    didSet { knownRange = nil }
  }
  /// The dtype the values belong to, and so the dtype of arithmetic on them.
  public var dtype: FloatDType
  /// The minimum and maximum of all values, when whoever produced the values computed
  /// them on the way (a store decoding samples chunk by chunk, while each chunk is in
  /// cache): whole-tensor min/max observers then skip their own pass over the values.
  /// `nil` when unknown. Not part of equality.
  public private(set) var knownRange: ValueRange?

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

  /// Creates a tensor whose range the caller has already computed.
  ///
  /// - Precondition: `range` is exactly `RangeReduction.minMax(values)`: the minimum and
  ///   maximum, both NaN when any value is NaN (checked in debug builds).
  public init(shape: [Int], values: [Float], dtype: FloatDType, knownRange range: ValueRange) {
    self.init(shape: shape, values: values, dtype: dtype)
    assert(range == ValueRange(RangeReduction.minMax(values, parallel: false)), "knownRange is not the values' range")
    knownRange = range
  }

  /// Equal shapes, dtypes and values (NaN unequal to itself, as for `[Float]`); a known
  /// range is a cache and does not count.
  public static func == (a: Tensor, b: Tensor) -> Bool {
    a.shape == b.shape && a.dtype == b.dtype && a.values == b.values
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
