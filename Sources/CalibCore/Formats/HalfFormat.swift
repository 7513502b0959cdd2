import CalibKernels

/// The two 16-bit float formats whose raw bits a ``Tensor`` can hold: bf16 and IEEE
/// half (f16). Both are sign and magnitude, so both order as the keys of
/// ``BFloat16Order`` (`bits ^ ((bits >> 15) & 0x7FFF)`); they differ in where ∞ lies and
/// in how bits widen to float32.
///
/// ```
///            +∞ bits   -∞ key     widening
/// bfloat16   0x7F80    -0x7F81    bits << 16
/// float16    0x7C00    -0x7C01    sign, exponent and mantissa moved (float(_:)), exact
/// ```
public enum HalfFormat: Sendable, Hashable {
  case bfloat16
  case float16

  /// The key (and bits) of +∞; a NaN's key is greater, or less than `-infinityKey - 1`.
  var infinityKey: Int16 {
    switch self {
    case .bfloat16: 0x7F80
    case .float16: 0x7C00
    }
  }

  /// Widens `count` values at `bits` into `out`: sixteen at a time with AVX-512, one by
  /// one (``float(_:)``) otherwise. Exact, NaN payloads included.
  func widen(_ bits: UnsafePointer<UInt16>, _ count: Int, into out: UnsafeMutablePointer<Float>, width: Int = WideKernels.width) {
    switch self {
    case .bfloat16: for i in 0..<count { out[i] = Float(bitPattern: UInt32(bits[i]) &<< 16) }
    case .float16 where width == 16: calib_f16_widen(bits, count, out)
    case .float16: for i in 0..<count { out[i] = float(bits[i]) }
    }
  }

  /// The bits of `x`, a finite float32 that this format holds exactly (one that
  /// ``float(_:)`` gave): the inverse of ``float(_:)`` there. f16 subnormals are
  /// `|x| · 2²⁴`.
  func bits(ofExact x: Float) -> UInt16 {
    switch self {
    case .bfloat16:
      return UInt16(truncatingIfNeeded: x.bitPattern &>> 16)
    case .float16:
      let sign = UInt16(truncatingIfNeeded: x.bitPattern &>> 16) & 0x8000
      let magnitude = x.magnitude
      if magnitude < 0x1p-14 { return sign | UInt16(magnitude * 0x1p24) }
      let exponent = UInt16(truncatingIfNeeded: (magnitude.bitPattern &>> 23) &- 112)
      return sign | exponent &<< 10 | UInt16(truncatingIfNeeded: magnitude.bitPattern &>> 13) & 0x3FF
    }
  }

  /// The float32 value of `bits`, exactly, for every bit pattern: a NaN keeps its sign and
  /// payload (shifted up), so a signaling NaN stays signaling, where `Float(Float16)`
  /// and `vcvtph2ps` quiet it. f16 subnormals are `mantissa · 2⁻²⁴`.
  @inlinable
  public func float(_ bits: UInt16) -> Float {
    switch self {
    case .bfloat16:
      return Float(bitPattern: UInt32(bits) &<< 16)
    case .float16:
      let sign = UInt32(bits & 0x8000) &<< 16
      let exponent = UInt32(bits &>> 10) & 0x1F
      let mantissa = UInt32(bits & 0x03FF)
      if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa &<< 13)) }
      if exponent == 0 {
        let magnitude = Float(mantissa) * 0x1p-24
        return sign == 0 ? magnitude : -magnitude
      }
      return Float(bitPattern: sign | ((exponent &+ 112) &<< 23) | (mantissa &<< 13))
    }
  }
}
