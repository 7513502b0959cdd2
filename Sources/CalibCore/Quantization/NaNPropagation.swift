/// Minimum and maximum that return NaN when either operand is NaN, as torch's `min`,
/// `max`, `amin` and `amax` do (Swift's `min`/`max` and IEEE minNum do not).
@inlinable
func propagatingMin(_ a: Float, _ b: Float) -> Float {
  a.isNaN || b.isNaN ? .nan : (b < a ? b : a)
}

/// See ``propagatingMin(_:_:)``.
@inlinable
func propagatingMax(_ a: Float, _ b: Float) -> Float {
  a.isNaN || b.isNaN ? .nan : (b > a ? b : a)
}

/// `Int32(x)` as x86's truncating conversion behaves: NaN and out-of-range values give
/// `Int32.min` instead of trapping.
@inlinable
func truncatingInt32(_ x: Float) -> Int32 {
  guard x.isFinite, x >= -0x1p31, x < 0x1p31 else { return .min }
  return Int32(x)
}
