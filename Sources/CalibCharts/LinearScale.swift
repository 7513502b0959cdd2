/// A linear map from a data domain to a pixel range, with "nice" ticks.
///
/// For example:
/// ```swift
/// let x = LinearScale(domain: 0...10, range: 40...440)
/// x.position(5)   // 240
/// x.ticks(count: 5)  // [0, 2, 4, 6, 8, 10]
/// ```
///
/// NaN policy: ``position(_:)`` returns `nil` for a non-finite value, so callers leave it
/// out of a chart. A domain of one value (`3...3`) is widened to `2.5...3.5` (or `-1...1`
/// around zero) so that the value lands mid-chart instead of dividing by zero.
public struct LinearScale: Sendable, Equatable {
  /// The data interval (never empty after widening).
  public let domain: ClosedRange<Double>
  /// The pixel interval; `lowerBound` is where `domain.lowerBound` lands unless `flipped`.
  public let range: ClosedRange<Double>
  /// Whether the domain runs from `range.upperBound` to `range.lowerBound` (y axes, where
  /// SVG's y grows downwards).
  public let flipped: Bool

  /// A scale over `domain`, widened as described above when it holds a single value.
  public init(domain: ClosedRange<Double>, range: ClosedRange<Double>, flipped: Bool = false) {
    self.domain = Self.widened(domain)
    self.range = range
    self.flipped = flipped
  }

  /// A scale whose domain covers the finite values of `values` (0...1 when there are none).
  ///
  /// - Parameters:
  ///   - values: data; NaN and ±∞ are ignored.
  ///   - includingZero: extend the domain to 0 (bar charts).
  public init(fitting values: some Sequence<Double>, range: ClosedRange<Double>, flipped: Bool = false, includingZero: Bool = false) {
    var (lo, hi) = finiteExtent(values)
    if includingZero { (lo, hi) = (min(lo, 0), max(hi, 0)) }
    self.init(domain: lo...hi, range: range, flipped: flipped)
  }

  static func widened(_ d: ClosedRange<Double>) -> ClosedRange<Double> {
    guard d.lowerBound.isFinite && d.upperBound.isFinite else { return 0...1 }
    if d.lowerBound < d.upperBound { return d }
    let v = d.lowerBound
    // Half of |v| keeps v mid-chart; a subnormal's half may round away, so take at least
    // the smallest normal; near the largest finite value, keep the bound that stays finite.
    let half = v == 0 ? 1 : max(abs(v) / 2, Double.leastNormalMagnitude)
    let (lo, hi) = (v - half, v + half)
    if !hi.isFinite { return lo...v }
    if !lo.isFinite { return v...hi }
    return lo...hi
  }

  /// The pixel position of `value`, or `nil` when it is NaN or ±∞. Values outside the
  /// domain map outside the range (callers clamp when they need to).
  public func position(_ value: Double) -> Double? {
    guard value.isFinite else { return nil }
    let t = (value - domain.lowerBound) / (domain.upperBound - domain.lowerBound)
    guard t.isFinite else { return nil }
    let span = range.upperBound - range.lowerBound
    return flipped ? range.upperBound - t * span : range.lowerBound + t * span
  }

  /// Round tick values inside the domain: multiples of 1, 2 or 5 × 10ⁿ, about `count` of
  /// them (at least one for any domain).
  public func ticks(count: Int = 5) -> [Double] {
    let step = Self.niceStep(span: domain.upperBound - domain.lowerBound, count: max(count, 1))
    guard step > 0, step.isFinite else { return [domain.lowerBound] }
    let first = (domain.lowerBound / step).rounded(.up)
    let last = (domain.upperBound / step).rounded(.down)
    guard first <= last, last - first < 1000 else { return [domain.lowerBound] }
    // Ticks are integer multiples of the step, so that 0.1 + 0.2 never shows up as a label.
    return stride(from: first, through: last, by: 1).map { $0 * step }
  }

  /// This scale with its domain widened outwards to whole multiples of the tick step, so
  /// that the extreme data does not sit on the plot's edge and the end ticks are labelled.
  ///
  /// For example:
  /// ```swift
  /// LinearScale(domain: 0.13...0.92, range: 0...100).niced().domain  // 0.0...1.0
  /// ```
  public func niced(count: Int = 5) -> LinearScale {
    let step = Self.niceStep(span: domain.upperBound - domain.lowerBound, count: max(count, 1))
    guard step > 0, step.isFinite else { return self }
    let lo = (domain.lowerBound / step).rounded(.down) * step
    let hi = (domain.upperBound / step).rounded(.up) * step
    guard lo.isFinite, hi.isFinite, lo < hi else { return self }
    return LinearScale(domain: lo...hi, range: range, flipped: flipped)
  }

  /// The 1-2-5 step that cuts `span` into about `count` intervals.
  static func niceStep(span: Double, count: Int) -> Double {
    guard span > 0, span.isFinite else { return 0 }
    let raw = span / Double(count)
    var magnitude = 1.0
    while magnitude > raw { magnitude /= 10 }
    while magnitude * 10 <= raw { magnitude *= 10 }
    let residual = raw / magnitude
    let nice: Double = residual < 1.5 ? 1 : residual < 3 ? 2 : residual < 7 ? 5 : 10
    return nice * magnitude
  }
}
