/// Round-to-nearest-even narrowing of float32 to bfloat16 and float16, returned as
/// float32 (the value the narrower dtype would hold).
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

  /// The float16 value nearest to `x` (ties to even), clamped to ±65504 first as
  /// `round_to_quantized_type_dtype` does; NaN stays NaN.
  @inlinable
  public static func roundedToHalf(_ x: Float) -> Float {
    if x.isNaN { return x }
    let clamped = Swift.min(Swift.max(x, -65504), 65504)
    return Float(Float16(clamped))
  }
}
