/// The FP4 E2M1 element format of NVFP4 and MXFP4: the grid {0, 0.5, 1, 1.5, 2, 3, 4, 6}
/// and its negatives.
public enum Float4E2M1 {
  /// The largest magnitude, 6.
  public static let greatestFiniteMagnitude: Float = 6

  /// Rounds to the FP4 grid as compressed-tensors' `cast_to_fp4` does on CPU.
  ///
  /// The thresholds implement round-half-to-even on the encodings:
  /// ```
  /// |y| ≤ 0.25 → 0     < 0.75 → 0.5    ≤ 1.25 → 1    < 1.75 → 1.5
  /// ≤ 2.5 → 2          < 3.5 → 3       ≤ 5 → 4       > 5 → 6
  /// ```
  /// The sign is restored by multiplying with `sign(y)`, so `-0.0` becomes `+0.0`, a small
  /// negative becomes `-0.0`, and NaN stays NaN.
  @inlinable
  public static func rounded(_ y: Float) -> Float {
    let a = y.magnitude
    let r: Float
    if a <= 0.25 {
      r = 0
    } else if a < 0.75 {
      r = 0.5
    } else if a <= 1.25 {
      r = 1
    } else if a < 1.75 {
      r = 1.5
    } else if a <= 2.5 {
      r = 2
    } else if a < 3.5 {
      r = 3
    } else if a <= 5 {
      r = 4
    } else if a > 5 {
      r = 6
    } else {
      return y  // NaN
    }
    let sign: Float = y > 0 ? 1 : (y < 0 ? -1 : 0)
    return r * sign
  }
}
