/// What an observer remembers between observations, exposed so a store can save it and
/// restore it: the running per-parameter range and the running whole-tensor range used
/// for the global scale. `nil` until the first observation; always `nil` for memoryless
/// observers.
public struct ObserverState: Sendable, Equatable, Codable {
  /// Running minimum per parameter (`past_min_vals`), shaped like the scale, in the dtype
  /// torch keeps it in (the observed dtype: bf16 for bf16 inputs).
  public var minValues: Tensor?
  /// Running maximum per parameter (`past_max_vals`).
  public var maxValues: Tensor?
  /// Running whole-tensor minimum for the global scale (`past_global_min_vals`).
  public var globalMin: Float?
  /// Running whole-tensor maximum for the global scale (`past_global_max_vals`).
  public var globalMax: Float?
  /// The dtype torch keeps ``globalMin`` and ``globalMax`` in (the observed dtype).
  public var globalDType: FloatDType = .float32
  /// The running histogram of a histogram-based observer (``CalibrationHistogram``);
  /// ``minValues`` / ``maxValues`` then hold the range computed from it.
  public var histogram: CalibrationHistogram?
  /// The running losses of `modelopt_mse_sweep` (``MSESweepState``); ``minValues`` /
  /// ``maxValues`` then hold the range computed from them.
  public var sweep: MSESweepState?

  public init(
    minValues: Tensor? = nil, maxValues: Tensor? = nil, globalMin: Float? = nil,
    globalMax: Float? = nil, globalDType: FloatDType = .float32, histogram: CalibrationHistogram? = nil,
    sweep: MSESweepState? = nil
  ) {
    self.histogram = histogram
    self.sweep = sweep
    self.minValues = minValues
    self.maxValues = maxValues
    self.globalMin = globalMin
    self.globalMax = globalMax
    self.globalDType = globalDType
  }

  private enum CodingKeys: String, CodingKey { case minValues, maxValues, globalMin, globalMax, globalDType, histogram, sweep }

  /// Decodes a state; `globalDType` may be absent (float32), as in states saved before it.
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    self.init(
      minValues: try c.decodeIfPresent(Tensor.self, forKey: .minValues),
      maxValues: try c.decodeIfPresent(Tensor.self, forKey: .maxValues),
      globalMin: try c.decodeIfPresent(Float.self, forKey: .globalMin),
      globalMax: try c.decodeIfPresent(Float.self, forKey: .globalMax),
      globalDType: try c.decodeIfPresent(FloatDType.self, forKey: .globalDType) ?? .float32,
      histogram: try c.decodeIfPresent(CalibrationHistogram.self, forKey: .histogram),
      sweep: try c.decodeIfPresent(MSESweepState.self, forKey: .sweep))
  }

  /// Encodes a state; `globalDType` only when it is not float32.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encodeIfPresent(minValues, forKey: .minValues)
    try c.encodeIfPresent(maxValues, forKey: .maxValues)
    try c.encodeIfPresent(globalMin, forKey: .globalMin)
    try c.encodeIfPresent(globalMax, forKey: .globalMax)
    if globalDType != .float32 { try c.encode(globalDType, forKey: .globalDType) }
    try c.encodeIfPresent(histogram, forKey: .histogram)
    try c.encodeIfPresent(sweep, forKey: .sweep)
  }
}

extension Tensor: Codable {
  // `dtype` is written only when it is not float32, so float32 encodings are unchanged.
  private enum CodingKeys: String, CodingKey { case shape, values, dtype }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let shape = try c.decode([Int].self, forKey: .shape)
    let values = try c.decode([Float].self, forKey: .values)
    guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == values.count else {
      throw DecodingError.dataCorruptedError(
        forKey: .values, in: c, debugDescription: "shape \(shape) does not match \(values.count) values")
    }
    let dtype = try c.decodeIfPresent(FloatDType.self, forKey: .dtype) ?? .float32
    guard dtype == .float32 || values.allSatisfy(dtype.represents) else {
      throw DecodingError.dataCorruptedError(
        forKey: .values, in: c, debugDescription: "values not representable in \(dtype)")
    }
    self.init(shape: shape, values: values, dtype: dtype)
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(shape, forKey: .shape)
    try c.encode(values, forKey: .values)
    if dtype != .float32 { try c.encode(dtype, forKey: .dtype) }
  }
}
