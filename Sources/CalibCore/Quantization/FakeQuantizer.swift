/// Quantize-dequantize ("QDQ") of single values, exactly as compressed-tensors 0.14
/// `fake_quantize` computes it in float32:
///
/// ```
/// s   := scale / g            (only when a global scale g is given)
/// y   := x / s + zp           (zp is added even when it is 0, so -0.0 becomes +0.0)
/// y   := clamp(y, q_min, q_max)   (NaN passes; ±∞ saturates)
/// y   := round(y)             int: half to even; fp8: E4M3FN nearest even; fp4: cast_to_fp4
/// out := (y - zp) · s
/// ```
public struct FakeQuantizer: Sendable {
  @usableFromInline let range: QuantizedRange
  @usableFromInline let rounding: Rounding
  @usableFromInline let globalScale: Float?

  @usableFromInline
  enum Rounding: Sendable { case integer, fp8, fp4 }

  /// A quantizer for the arguments' type and bit width, with an optional global scale.
  public init(_ args: QuantizationArgs, globalScale: Float? = nil) {
    range = QuantizedRange(args)
    rounding =
      switch (args.type, args.numBits) {
      case (.int, _): .integer
      case (.float, 4): .fp4
      default: .fp8
      }
    self.globalScale = globalScale
  }

  /// The effective scale a stored scale acts with: `scale / g` under a global scale.
  @inlinable
  public func effectiveScale(_ scale: Float) -> Float {
    if let g = globalScale { return scale / g }
    return scale
  }

  /// The quantized level of `x` (before dequantization), in float32.
  @inlinable
  public func quantized(_ x: Float, effectiveScale s: Float, zeroPoint zp: Float) -> Float {
    var y = x / s + zp
    if y < range.lowerBound { y = range.lowerBound }
    if y > range.upperBound { y = range.upperBound }
    switch rounding {
    case .integer: return y.rounded(.toNearestOrEven)
    case .fp8: return Float8E4M3.rounded(y)
    case .fp4: return Float4E2M1.rounded(y)
    }
  }

  /// `x` quantized and dequantized with an effective scale (see ``effectiveScale(_:)``).
  @inlinable
  public func qdq(_ x: Float, effectiveScale s: Float, zeroPoint zp: Float) -> Float {
    (quantized(x, effectiveScale: s, zeroPoint: zp) - zp) * s
  }

  /// Fake-quantizes every element of `values` with the parameter its layout assigns it.
  public func fakeQuantize(
    _ values: [Float], layout: GroupLayout, scales: [Float], zeroPoints: [Float]
  ) -> [Float] {
    precondition(scales.count == layout.count && zeroPoints.count == layout.count)
    var out = values
    out.withUnsafeMutableBufferPointer { dst in
      values.withUnsafeBufferPointer { src in
        for q in 0..<layout.count {
          let s = effectiveScale(scales[q])
          let zp = zeroPoints[q]
          layout.forEachRun(of: q) { start, length in
            for i in start..<(start + length) { dst[i] = qdq(src[i], effectiveScale: s, zeroPoint: zp) }
          }
        }
      }
    }
    return out
  }
}

extension QuantizationArgs {
  /// Fake-quantizes a value as `forward_quantize` does: with the given parameters when the
  /// arguments are static, or with parameters computed from the value itself
  /// (`compute_dynamic_scales_and_zp`) when they are dynamic (`true` or `"local"`).
  ///
  /// Empty values are returned unchanged.
  ///
  /// - Throws: ``LayoutError`` when the value's shape does not fit the strategy.
  public func fakeQuantized(
    _ value: Tensor, as baseName: BaseName, parameters: QuantizationParameters?,
    globalScale: Float? = nil
  ) throws -> Tensor {
    if value.isEmpty { return value }
    let quantizer = FakeQuantizer(self, globalScale: globalScale)
    let layout: GroupLayout
    let params: QuantizationParameters
    if dynamic.isDynamic || parameters == nil {
      layout = try dynamicLayout(for: value.shape)
      let (mins, maxs) = RangeReduction.minMax(value.values, layout: layout)
      params = try quantizationParameters(
        min: Tensor(shape: layout.qparamShape, values: mins),
        max: Tensor(shape: layout.qparamShape, values: maxs), globalScale: globalScale)
    } else if let given = parameters {
      layout = try GroupLayout(shape: value.shape, baseName: baseName, args: self)
      params = given
    } else {
      preconditionFailure("unreachable")
    }
    let out = quantizer.fakeQuantize(
      value.values, layout: layout, scales: params.scale.values, zeroPoints: params.zeroPoint.values)
    return Tensor(shape: value.shape, values: out)
  }

  /// The reduction of `compute_dynamic_scales_and_zp`: per token over every dimension but
  /// the first two (a 2-D value is one token), the whole value for tensor, per group of
  /// the last dimension for group and tensor_group.
  func dynamicLayout(for shape: [Int]) throws -> GroupLayout {
    let total = shape.reduce(1, *)
    let last = shape.last ?? 1
    switch strategy {
    case .token:
      let perToken = shape.count > 2 ? shape.dropFirst(2).reduce(1, *) : total
      var channel = self
      channel.strategy = .channel
      return try GroupLayout(shape: [total / Swift.max(perToken, 1), perToken], baseName: .weight, args: channel)
    case .group, .tensorGroup:
      return try GroupLayout(shape: [total / Swift.max(last, 1), last], baseName: .weight, args: self)
    case .tensor:
      var tensor = self
      tensor.strategy = .tensor
      return try GroupLayout(shape: [total], baseName: .input, args: tensor)
    default:
      throw LayoutError.unsupported(strategy, .input)
    }
  }
}
