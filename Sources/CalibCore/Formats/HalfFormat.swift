/// The two 16-bit float formats whose raw bits a ``Tensor`` can hold: bf16 and IEEE
/// half (f16). Both are sign and magnitude, so both order as the keys of
/// ``BFloat16Order`` (`bits ^ ((bits >> 15) & 0x7FFF)`); they differ in where ∞ lies and
/// in how bits widen to float32.
///
/// ```
///            +∞ bits   -∞ key     widening
/// bfloat16   0x7F80    -0x7F81    bits << 16
/// float16    0x7C00    -0x7C01    Float(Float16(bitPattern: bits)), exact
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

  /// The float32 value of `bits`, exactly.
  @inline(__always)
  func float(_ bits: UInt16) -> Float {
    switch self {
    case .bfloat16: Float(bitPattern: UInt32(bits) &<< 16)
    case .float16: Float(Float16(bitPattern: bits))
    }
  }
}
