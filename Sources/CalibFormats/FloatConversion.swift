import CalibCore

/// Exact widening and round-to-nearest-even narrowing between float32 and the 16-bit formats.
///
/// Widening (bf16 → f32, f16 → f32) is exact for every bit pattern, including subnormals,
/// infinities and NaN. Narrowing rounds to nearest, ties to even, overflows to infinity, and
/// keeps NaN a (quiet) NaN with its sign.
///
/// For example:
/// ```swift
/// FloatConversion.float(fromBFloat16: 0x3F80)  // 1.0
/// FloatConversion.half(from: 65520)            // 0x7C00 (+inf: the tie rounds to even)
/// ```
public enum FloatConversion {
  /// Widens bfloat16 bits to the float32 with the same value.
  @inlinable
  public static func float(fromBFloat16 bits: UInt16) -> Float {
    Float(bitPattern: UInt32(bits) &<< 16)
  }

  /// Widens IEEE binary16 bits to the float32 with the same value (``HalfFormat/float(_:)``).
  @inlinable
  public static func float(fromHalf bits: UInt16) -> Float {
    HalfFormat.float16.float(bits)
  }

  /// Narrows a float32 to bfloat16 bits, rounding to nearest, ties to even.
  @inlinable
  public static func bfloat16(from x: Float) -> UInt16 {
    let bits = x.bitPattern
    if x.isNaN {
      // Truncate the payload and set the quiet bit so the result cannot become infinity.
      return UInt16(truncatingIfNeeded: bits &>> 16) | 0x0040
    }
    let lsb = (bits &>> 16) & 1
    return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ lsb) &>> 16)
  }

  /// Narrows a float32 to IEEE binary16 bits, rounding to nearest, ties to even.
  @inlinable
  public static func half(from x: Float) -> UInt16 {
    let bits = x.bitPattern
    let sign = UInt16(truncatingIfNeeded: bits &>> 16) & 0x8000
    let magnitude = bits & 0x7FFF_FFFF
    if magnitude > 0x7F80_0000 {
      // NaN: keep the top payload bits and set the quiet bit.
      return sign | 0x7E00 | (UInt16(truncatingIfNeeded: magnitude &>> 13) & 0x03FF)
    }
    if magnitude >= 0x477F_F000 {
      // At or above 65520, the tie between 65504 and 2¹⁶, or infinity: rounds to infinity.
      return sign | 0x7C00
    }
    if magnitude < 0x3880_0000 {
      // Below 2⁻¹⁴: a multiple of 2⁻²⁴ (a carry to 1024 is exactly the smallest normal).
      let units = (Float(bitPattern: magnitude) * 0x1p24).rounded(.toNearestOrEven)
      return sign | UInt16(units)
    }
    // Normal: rebias the exponent (127 → 15), keep 10 mantissa bits, round the other 13.
    let rebased = magnitude &- (112 &<< 23)
    var result = UInt32(rebased &>> 13)
    let remainder = rebased & 0x1FFF
    if remainder > 0x1000 || (remainder == 0x1000 && result & 1 == 1) {
      result &+= 1
    }
    return sign | UInt16(truncatingIfNeeded: result)
  }
}
