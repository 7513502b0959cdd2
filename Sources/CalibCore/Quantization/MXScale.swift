/// MX (E8M0) power-of-two scales for FP4 with group size 32 (compressed-tensors 0.14
/// `generate_mxfp4_scales` and `maybe_convert_from_mxfp4_exp`).
public enum MXScale {
  /// The biased exponent for a group's absolute maximum:
  /// `127 + floor(log2(p2)) - 2`, where `p2` is `amax` rounded to a power of two by adding
  /// half of FP4's mantissa step to its float32 bits and masking the mantissa off (so a
  /// mantissa fraction ≥ 0.75 rounds up). 0 gives -∞ and NaN gives +∞, which the uint8
  /// scale dtype then clamps to 0 and 255.
  public static func exponent(ofAbsoluteMaximum amax: Float) -> Float {
    let bits = Int32(bitPattern: amax.bitPattern) &+ (1 << 21)
    let p2 = Float(bitPattern: UInt32(bitPattern: bits) & 0xFF80_0000)
    return 127 + log2PowerOfTwo(p2) - 2
  }

  /// `2^(int(e) - 127)` in float32: 2⁻¹²⁷ for e = 0 and +∞ for e = 255.
  public static func decode(exponent e: Float) -> Float {
    // int32 arithmetic as torch does: -∞ converts to Int32.min and wraps to a huge positive.
    let k = Int(truncatingInt32(e) &- 127)
    if k > 127 { return .infinity }
    if k < -149 { return 0 }
    return Float(sign: .plus, exponent: k, significand: 1)
  }

  /// `floor(log2(x))` for x that is ±0, a power of two, ±∞ or NaN.
  private static func log2PowerOfTwo(_ x: Float) -> Float {
    if x.isNaN { return x }
    if x == 0 { return -.infinity }
    if x.sign == .minus { return .nan }
    if x.isInfinite { return .infinity }
    return Float(x.exponent)
  }
}
