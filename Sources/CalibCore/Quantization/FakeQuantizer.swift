/// Quantize-dequantize ("QDQ") of single values, exactly as compressed-tensors 0.14
/// `fake_quantize` computes it, in the dtypes torch uses.
///
/// With D the value's dtype, S the scale's (float32 under a global scale, whose float32
/// tensor promotes `scale / g`) and C = promote(D, S) — D when both agree, else float32 —
/// each `r_X` rounds a float32 result to X (nothing for float32):
/// ```
/// s   := scale / g                 (only when a global scale g is given; float32)
/// y   := r_C(x / s)
/// y   := r_C(y + zp)               (zp is added even when it is 0, so -0.0 becomes +0.0)
/// y   := clamp(y, q_min, q_max)    (NaN passes; ±∞ saturates; bounds taken in C)
/// y   := round(y)                  int: half to even; fp8: E4M3FN nearest even; fp4:
///                                  cast_to_fp4 — all exact in C
/// out := r_S(r_S(y - zp) · s)
/// ```
/// The result's dtype is S for tensor, channel, token, attention-head and block
/// strategies, and D for group and tensor_group, whose output torch casts back to the
/// value's dtype (``resultDType(for:)``).
public struct FakeQuantizer: Sendable {
  @usableFromInline let range: QuantizedRange
  @usableFromInline let rounding: Rounding
  @usableFromInline let globalScale: Float?
  /// D: the dtype of the values.
  public let valueDType: FloatDType
  /// The dtype of the stored scale, before any division by the global scale.
  public let scaleDType: FloatDType
  /// S: the dtype of the effective scale and of the dequantized values.
  @usableFromInline let effectiveScaleDType: FloatDType
  /// C: the dtype of `x / s` and the quantized levels.
  @usableFromInline let computeDType: FloatDType
  @usableFromInline let lowerBound: Float
  @usableFromInline let upperBound: Float

  @usableFromInline
  enum Rounding: Sendable { case integer, fp8, fp4 }

  /// A quantizer for the arguments' type and bit width, with an optional global scale,
  /// for values of `valueDType` and scales of `scaleDType` (float32 for both by default).
  public init(
    _ args: QuantizationArgs, globalScale: Float? = nil, valueDType: FloatDType = .float32,
    scaleDType: FloatDType = .float32
  ) {
    range = QuantizedRange(args)
    rounding =
      switch (args.type, args.numBits) {
      case (.int, _): .integer
      case (.float, 4): .fp4
      default: .fp8
      }
    self.globalScale = globalScale
    self.valueDType = valueDType
    self.scaleDType = scaleDType
    effectiveScaleDType = globalScale == nil ? scaleDType : .float32
    computeDType = valueDType.promoted(with: effectiveScaleDType)
    // `torch.clamp` with 0-d float32 bounds on a C tensor takes them in C.
    lowerBound = computeDType.rounded(range.lowerBound)
    upperBound = computeDType.rounded(range.upperBound)
  }

  /// The dtype torch returns fake-quantized values in for a strategy: the value's dtype
  /// for group and tensor_group, the effective scale's dtype otherwise.
  public func resultDType(for strategy: QuantizationStrategy?) -> FloatDType {
    switch strategy {
    case .group, .tensorGroup: valueDType
    default: effectiveScaleDType
    }
  }

  /// The effective scale a stored scale acts with: `scale / g` under a global scale.
  @inlinable
  public func effectiveScale(_ scale: Float) -> Float {
    if let g = globalScale { return scale / g }
    return scale
  }

  /// The quantized level of `x` (before dequantization), in C.
  @inlinable
  public func quantized(_ x: Float, effectiveScale s: Float, zeroPoint zp: Float) -> Float {
    var y = computeDType.rounded(computeDType.rounded(x / s) + zp)
    if y < lowerBound { y = lowerBound }
    if y > upperBound { y = upperBound }
    switch rounding {
    case .integer: return y.rounded(.toNearestOrEven)
    case .fp8: return Float8E4M3.rounded(y)
    case .fp4: return Float4E2M1.rounded(y)
    }
  }

  /// `x` quantized and dequantized with an effective scale (see ``effectiveScale(_:)``),
  /// in S.
  @inlinable
  public func qdq(_ x: Float, effectiveScale s: Float, zeroPoint zp: Float) -> Float {
    let r = effectiveScaleDType
    return r.rounded(r.rounded(r.rounded(quantized(x, effectiveScale: s, zeroPoint: zp)) - zp) * s)
  }

  /// Fake-quantizes every element of `values` with the parameter its layout assigns it,
  /// in S; the caller rounds to ``resultDType(for:)`` where that is D.
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
  /// Empty values are returned unchanged. The arithmetic follows the value's dtype and
  /// the parameters' ``QuantizationParameters/scaleDType`` as ``FakeQuantizer`` describes,
  /// and the result carries torch's result dtype (§4.4 of the reference notes): the
  /// value's dtype for group and tensor_group, the effective scale's dtype otherwise
  /// (so a bf16 value with a float32 scale gives float32).
  ///
  /// - Throws: ``LayoutError`` when the value's shape does not fit the strategy.
  public func fakeQuantized(
    _ value: Tensor, as baseName: BaseName, parameters: QuantizationParameters?,
    globalScale: Float? = nil
  ) throws -> Tensor {
    if value.isEmpty { return value }
    let layout: GroupLayout
    let params: QuantizationParameters
    if dynamic.isDynamic || parameters == nil {
      layout = try dynamicLayout(for: value.shape)
      let (mins, maxs) = RangeReduction.minMax(value, layout: layout)
      params = try quantizationParameters(
        min: Tensor(shape: layout.qparamShape, values: mins, dtype: value.dtype),
        max: Tensor(shape: layout.qparamShape, values: maxs, dtype: value.dtype), globalScale: globalScale)
    } else if let given = parameters {
      layout = try GroupLayout(shape: value.shape, baseName: baseName, args: self)
      params = given
    } else {
      preconditionFailure("unreachable")
    }
    let quantizer = FakeQuantizer(
      self, globalScale: globalScale, valueDType: value.dtype,
      scaleDType: params.scaleDType.floatDType ?? params.scale.dtype)
    var out = quantizer.fakeQuantize(
      value.values, layout: layout, scales: params.scale.values, zeroPoints: params.zeroPoint.values)
    let dtype = quantizer.resultDType(for: strategy)
    if dtype != quantizer.effectiveScaleDType {
      for i in out.indices { out[i] = dtype.rounded(out[i]) }
    }
    return Tensor(shape: value.shape, values: out, dtype: dtype)
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
