import Foundation

/// A base-10 logarithmic map for counts, from `1...maximum` to a pixel range, with ticks
/// at powers of ten.
///
/// For example:
/// ```swift
/// let y = LogScale(maximum: 1000, range: 0...300, flipped: true)
/// y.position(100)  // 100 (two thirds of the way up)
/// y.ticks()        // [1, 10, 100, 1000]
/// ```
///
/// Zero and negative counts have no logarithm: ``position(_:)`` puts them on the
/// baseline (where 1 is), NaN and ±∞ give `nil`. A maximum below 10 is raised to 10 so
/// that the axis always spans one decade.
public struct LogScale: Sendable, Equatable {
  /// The largest count shown (at least 10).
  public let maximum: Double
  /// The pixel interval.
  public let range: ClosedRange<Double>
  /// Whether 1 maps to `range.upperBound` (y axes).
  public let flipped: Bool

  /// A scale from 1 to `maximum` (raised to 10 when smaller or not finite).
  public init(maximum: Double, range: ClosedRange<Double>, flipped: Bool = false) {
    self.maximum = maximum.isFinite ? max(maximum, 10) : 10
    self.range = range
    self.flipped = flipped
  }

  /// The pixel position of `value`; counts ≤ 1 sit on the baseline.
  public func position(_ value: Double) -> Double? {
    guard value.isFinite else { return nil }
    let t = value <= 1 ? 0 : Foundation.log10(value) / Foundation.log10(maximum)
    let span = range.upperBound - range.lowerBound
    return flipped ? range.upperBound - t * span : range.lowerBound + t * span
  }

  /// Powers of ten from 1 up to `maximum`.
  public func ticks() -> [Double] {
    var out: [Double] = []
    var v = 1.0
    while v <= maximum * (1 + 1e-9) {
      out.append(v)
      v *= 10
    }
    return out
  }
}
