/// A dense, row-major float32 tensor: the value every observer and quantizer works on.
///
/// Samples recorded in bf16 or f16 are widened exactly to float32 before any math, which is
/// what the reference does when it is fed their float32 upcast.
///
/// For example:
/// ```swift
/// let t = Tensor(shape: [2, 3], values: [0, 1, 2, 3, 4, 5])
/// t.elementCount  // 6
/// ```
public struct Tensor: Sendable, Equatable {
  /// The extent of each dimension, outermost first. A 0-d tensor has shape `[]`.
  public var shape: [Int]
  /// The elements in row-major order; `values.count == shape.reduce(1, *)`.
  public var values: [Float]

  /// Creates a tensor; traps when the element count does not match the shape.
  public init(shape: [Int], values: [Float]) {
    precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
    precondition(
      shape.reduce(1, *) == values.count,
      "shape \(shape) needs \(shape.reduce(1, *)) values, got \(values.count)")
    self.shape = shape
    self.values = values
  }

  /// Creates a tensor of the given shape filled with one value.
  public init(shape: [Int], repeating value: Float) {
    self.init(shape: shape, values: Array(repeating: value, count: shape.reduce(1, *)))
  }

  /// The number of elements, the product of the shape.
  public var elementCount: Int { values.count }

  /// Whether the tensor holds no elements (for example an MoE expert that got no tokens).
  public var isEmpty: Bool { values.isEmpty }
}
