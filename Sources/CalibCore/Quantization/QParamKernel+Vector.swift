import CalibKernels

/// `calculate_qparams` eight elements at a time for the common case: symmetric, no MX
/// exponent, float32 or FP8 scales (int/FP8 per-channel and group weights, NVFP4), in any
/// ``FloatDType``. Lane for lane it performs the scalar kernel's operations and roundings
/// in the same order, so the scales are bit-identical (a NaN scale is the canonical NaN,
/// as the scalar path makes).
extension QParamKernel {
  typealias Lanes = SIMD8<Float>
  typealias Bits = SIMD8<UInt32>

  /// Whether ``scales(min:max:)`` applies; symmetric zero points are all 0.
  var hasVectorPath: Bool {
    symmetric && !usesMX && (scaleDType == nil || scaleDType == .float32 || scaleDType == .float8E4M3FN)
  }

  /// Outputs from which the C kernels write scales around the cache: 32K elements,
  /// 128 KiB of float32, beyond which they would evict the input a next pass reads and be
  /// read for ownership first.
  static let streamedOutputs = 1 << 15

  /// ``scales(min:max:)``'s arguments for `calib_symmetric_scales`, which performs the
  /// same operations sixteen lanes at a time, for a call that writes part of `outputs`
  /// scales (the whole count decides whether stores stream, not the call's share): `nil`
  /// off the vector path.
  func wideScaleParameters(outputs: Int) -> calib_symmetric_scale_params? {
    guard hasVectorPath else { return nil }
    return calib_symmetric_scale_params(
      half_width: halfWidth, bfloat16: dtype == .bfloat16 ? 1 : 0, float16: dtype == .float16 ? 1 : 0,
      has_global_scale: globalScale == nil ? 0 : 1,
      global_scale: globalScale ?? 1, float8: scaleDType == .float8E4M3FN ? 1 : 0, epsilon: epsilon,
      streams: outputs >= Self.streamedOutputs ? 1 : 0)
  }

  /// The scales for eight (min, max) pairs.
  @inline(__always)
  func scales(min lo: Lanes, max hi: Lanes) -> Lanes {
    let zero = Lanes()
    // min(lo, 0) and max(hi, 0); a NaN stays (its comparisons are false).
    let mn = lo.replacing(with: zero, where: lo .> zero)
    let mx = hi.replacing(with: zero, where: hi .< zero)
    let a = Self.magnitude(mn)
    let b = Self.magnitude(mx)
    var amax = a.replacing(with: b, where: b .> a)
    amax.replace(with: .nan, where: (mn .!= mn) .| (mx .!= mx))
    var s = dtype.rounded(amax / Lanes(repeating: halfWidth))
    if let g = globalScale { s = Lanes(repeating: g) * s }
    if scaleDType == .float8E4M3FN { s = Self.roundedToFloat8(s) }
    s.replace(with: epsilon, where: s .== zero)
    return s
  }

  @inline(__always)
  static func magnitude(_ v: Lanes) -> Lanes {
    unsafeBitCast(unsafeBitCast(v, to: Bits.self) & Bits(repeating: 0x7FFF_FFFF), to: Lanes.self)
  }

  /// ``TorchDType/rounded(_:)`` for FP8 E4M3FN lane by lane: clamp to ±448, then
  /// ``Float8E4M3/rounded(_:)``'s two cases; NaN lanes are kept.
  @inline(__always)
  static func roundedToFloat8(_ x: Lanes) -> Lanes {
    var c = x.replacing(with: -448, where: x .< -448)
    c.replace(with: 448, where: c .> 448)
    let bits = unsafeBitCast(c, to: Bits.self)
    let sign = bits & Bits(repeating: 0x8000_0000)
    let m = bits & Bits(repeating: 0x7FFF_FFFF)
    let normal = (m &+ Bits(repeating: 0x7FFFF) &+ ((m &>> 20) & Bits(repeating: 1))) & Bits(repeating: ~UInt32(0xFFFFF))
    let magnitude = unsafeBitCast(m, to: Lanes.self)
    let small = unsafeBitCast((magnitude + Lanes(repeating: 0x1p14)) - Lanes(repeating: 0x1p14), to: Bits.self)
    let snapped = small.replacing(with: normal, where: magnitude .>= Lanes(repeating: 0x1p-6))
    let rounded = unsafeBitCast(snapped | sign, to: Lanes.self)
    return rounded.replacing(with: x, where: x .!= x)
  }
}
