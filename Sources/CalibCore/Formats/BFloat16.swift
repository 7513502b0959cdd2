/// Round-to-nearest-even narrowing of float32 to bfloat16 and float16, returned as
/// float32 (the value the narrower dtype would hold).
///
/// Everything here works on the float32 bit pattern with integer operations (no
/// conversion instructions, no libm), scalar and eight lanes at a time, so the model-dtype
/// arithmetic of ``FloatDType`` costs a few integer operations per element:
/// ```
/// bf16  bits := (bits + 0x7FFF + bit16) AND 0xFFFF0000          carry may reach +inf
/// f16   |x| ≥ 2⁻¹⁴: bits := (bits + 0x0FFF + bit13) AND NOT 0x1FFF, above 65504 → inf
///       |x| < 2⁻¹⁴: (|x| + 0.5) - 0.5   float32 near 0.5 is 2⁻²⁴ apart: the f16 subnormal step
/// ```
/// NaN stays NaN (its payload is not preserved, as torch's casts do not preserve it).
public enum BFloat16 {
  /// The bfloat16 value nearest to `x` (ties to even); NaN stays NaN, overflow gives ±∞.
  @inlinable
  public static func rounded(_ x: Float) -> Float {
    Float(bitPattern: UInt32(bits(x)) << 16)
  }

  /// The bfloat16 bit pattern nearest to `x` (ties to even); NaN becomes a quiet NaN.
  @inlinable
  public static func bits(_ x: Float) -> UInt16 {
    let b = x.bitPattern
    if x.isNaN { return UInt16(truncatingIfNeeded: b >> 16) | 0x0040 }
    let roundingBias = UInt32(0x7FFF) + ((b >> 16) & 1)
    return UInt16(truncatingIfNeeded: (b &+ roundingBias) >> 16)
  }

  /// ``rounded(_:)`` for eight lanes; NaN lanes are kept as they are.
  @inlinable
  public static func rounded(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let b = unsafeBitCast(x, to: SIMD8<UInt32>.self)
    let lsb = (b &>> 16) & SIMD8(repeating: 1)
    let r = (b &+ SIMD8(repeating: 0x7FFF) &+ lsb) & SIMD8(repeating: 0xFFFF_0000)
    return unsafeBitCast(r, to: SIMD8<Float>.self).replacing(with: x, where: x .!= x)
  }

  /// The float16 value nearest to `x` (ties to even), clamped to ±65504 first as
  /// `round_to_quantized_type_dtype` does; NaN stays NaN.
  @inlinable
  public static func roundedToHalf(_ x: Float) -> Float {
    if x.isNaN { return x }
    return halfRounded(Swift.min(Swift.max(x, -65504), 65504))
  }

  /// The float16 value nearest to `x` (ties to even), as torch's cast to `float16`:
  /// magnitudes from 65520 up (and ±∞) give ±∞, below 2⁻¹⁴ the subnormal grid of step
  /// 2⁻²⁴ applies (2⁻²⁵ ties to 0); NaN stays NaN.
  @inlinable
  public static func halfRounded(_ x: Float) -> Float {
    if x.isNaN { return x }
    let magnitude = x.magnitude
    let snapped: Float
    if magnitude >= 0x1p-14 {
      let b = magnitude.bitPattern
      let r = (b &+ 0x0FFF &+ ((b >> 13) & 1)) & ~UInt32(0x1FFF)
      snapped = r > 0x477F_E000 ? .infinity : Float(bitPattern: r)
    } else {
      snapped = (magnitude + 0.5) - 0.5
    }
    return x.sign == .minus ? -snapped : snapped
  }

  /// ``halfRounded(_:)`` for eight lanes, branch-free per lane: the optimizer turns the
  /// per-lane selects into vector compares and blends (`replacing(with:where:)` on these
  /// masks compiled to a slow generic loop, 80 % of an f16 MSE search's samples).
  @inlinable
  public static func halfRounded(_ x: SIMD8<Float>) -> SIMD8<Float> {
    var out = SIMD8<Float>()
    for k in 0..<8 {
      let bits = x[k].bitPattern
      // Magnitudes compare as signed integers (all below 2^31).
      let m = Int32(bitPattern: bits & 0x7FFF_FFFF)
      let lsb = (m &>> 13) & 1
      let rounded = (m &+ 0x0FFF &+ lsb) & ~0x1FFF
      let normal = rounded > 0x477F_E000 ? 0x7F80_0000 : rounded
      let magnitude = Float(bitPattern: UInt32(bitPattern: m))
      let small = Int32(bitPattern: ((magnitude + 0.5) - 0.5).bitPattern)
      let snapped = m >= 0x3880_0000 ? normal : small
      let value = Float(bitPattern: UInt32(bitPattern: snapped) | (bits & 0x8000_0000))
      out[k] = m > 0x7F80_0000 ? x[k] : value
    }
    return out
  }

}
