/// What an observer remembers between observations, exposed so a store can save it and
/// restore it: the running per-parameter range and the running whole-tensor range used
/// for the global scale. `nil` until the first observation; always `nil` for memoryless
/// observers.
public struct ObserverState: Sendable, Equatable, Codable {
  /// Running minimum per parameter (`past_min_vals`), shaped like the scale.
  public var minValues: Tensor?
  /// Running maximum per parameter (`past_max_vals`).
  public var maxValues: Tensor?
  /// Running whole-tensor minimum for the global scale (`past_global_min_vals`).
  public var globalMin: Float?
  /// Running whole-tensor maximum for the global scale (`past_global_max_vals`).
  public var globalMax: Float?

  public init(
    minValues: Tensor? = nil, maxValues: Tensor? = nil, globalMin: Float? = nil,
    globalMax: Float? = nil
  ) {
    self.minValues = minValues
    self.maxValues = maxValues
    self.globalMin = globalMin
    self.globalMax = globalMax
  }
}

extension Tensor: Codable {
  private enum CodingKeys: String, CodingKey { case shape, values }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let shape = try c.decode([Int].self, forKey: .shape)
    let values = try c.decode([Float].self, forKey: .values)
    guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == values.count else {
      throw DecodingError.dataCorruptedError(
        forKey: .values, in: c, debugDescription: "shape \(shape) does not match \(values.count) values")
    }
    self.init(shape: shape, values: values)
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(shape, forKey: .shape)
    try c.encode(values, forKey: .values)
  }
}
