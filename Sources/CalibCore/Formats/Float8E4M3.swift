/// The FP8 E4M3FN format (`torch.float8_e4m3fn`): 1 sign, 4 exponent (bias 7), 3 mantissa
/// bits, no infinities, largest finite value 448, smallest subnormal 2⁻⁹.
///
/// Rounding is to nearest, ties to even, exactly as torch's cast: magnitudes up to 464
/// round to at most 448; above that (and ±∞) the cast gives NaN, as E4M3FN has no
/// infinity. The quantizers and `round_to_quantized_type_dtype` clamp to ±448 first, so
/// they never reach that case.
///
/// For example:
/// ```swift
/// Float8E4M3.rounded(0.0146484375)  // 0.015625
/// Float8E4M3.rounded(460)           // 448
/// ```
public enum Float8E4M3 {
  /// The largest finite value, 448.
  public static let greatestFiniteMagnitude: Float = 448
  /// `torch.finfo(float8_e4m3fn).eps`, 0.125: the value the reference puts in place of a
  /// zero scale whose dtype is FP8.
  public static let epsilon: Float = 0.125

  /// Rounds a float32 to the nearest E4M3FN value and returns it as a float32.
  ///
  /// The result is `rint(|x| / q) · q` with the sign of `x`, where the quantum `q` is
  /// `2^(e - 3)` for `|x|` in binade `e ≥ -6` and `2^-9` below. Both cases are computed
  /// without a division or a libm call:
  /// - normals: round the float32 bits to nearest even at mantissa bit 20 (keeping three
  ///   mantissa bits); a carry out of the mantissa moves to the next binade, as it should;
  /// - below `2^-6`: `(|x| + 2^14) - 2^14`, since float32 values near `2^14` are exactly
  ///   `2^-9` apart, so the addition itself rounds to nearest even.
  @inlinable
  public static func rounded(_ x: Float) -> Float {
    if x.isNaN { return x }
    let magnitude = x.magnitude
    if magnitude > 464 { return .nan }  // 464 ties to even (448); beyond rounds to NaN
    let snapped: Float
    if magnitude >= 0x1p-6 {
      let bits = magnitude.bitPattern
      let rounded = (bits &+ 0x7FFFF &+ ((bits >> 20) & 1)) & ~UInt32(0xFFFFF)
      snapped = Float(bitPattern: rounded)
    } else {
      snapped = (magnitude + 0x1p14) - 0x1p14
    }
    return x.sign == .minus ? -snapped : snapped
  }

  /// Encodes a float32 as E4M3FN bits (rounding as ``rounded(_:)``).
  public static func encode(_ x: Float) -> UInt8 {
    if x.isNaN { return 0x7F }
    let r = rounded(x)
    let sign: UInt8 = x.sign == .minus ? 0x80 : 0
    if r.isNaN { return sign | 0x7F }
    let m = r.magnitude
    if m == 0 { return sign }
    if m < Float(sign: .plus, exponent: -6, significand: 1) {
      return sign | UInt8(m / Float(sign: .plus, exponent: -9, significand: 1))
    }
    let e = Int(m.exponent) + 7
    let frac = UInt8((m.significand - 1) * 8)
    return sign | UInt8(e << 3) | frac
  }

  /// ``decode(_:)`` of every byte, indexed by it.
  static let decodingTable: [Float] = (0...255).map { decode(UInt8($0)) }

  /// Decodes E4M3FN bits to float32 exactly; `0x7F`/`0xFF` are NaN.
  public static func decode(_ bits: UInt8) -> Float {
    let negative = bits & 0x80 != 0
    let e = Int((bits >> 3) & 0x0F)
    let m = Float(bits & 0x07)
    let value: Float
    if e == 0x0F && bits & 0x07 == 0x07 {
      value = .nan
    } else if e == 0 {
      value = m * Float(sign: .plus, exponent: -9, significand: 1)
    } else {
      value = Float(sign: .plus, exponent: e - 7, significand: 1 + m / 8)
    }
    return negative ? -value : value
  }
}
