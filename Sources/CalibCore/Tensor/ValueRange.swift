/// The minimum and maximum of some values, with torch's NaN rule: both are NaN when any
/// value is NaN; (+∞, -∞) for no values.
///
/// Ranges of parts combine into the range of the whole (``merging(_:)``), exactly and in
/// any order, which lets a reader reduce a large tensor chunk by chunk.
public struct ValueRange: Sendable, Equatable {
  public let min: Float
  public let max: Float

  /// The range of no values: (+∞, -∞), which every merge replaces.
  public static let empty = ValueRange(min: .infinity, max: -.infinity)

  public init(min: Float, max: Float) {
    self.min = min
    self.max = max
  }

  init(_ pair: (Float, Float)) {
    self.init(min: pair.0, max: pair.1)
  }

  /// The range of `values`, one pass, SIMD (NaN if any value is NaN).
  public init(of values: UnsafeBufferPointer<Float>) {
    guard let base = values.baseAddress, !values.isEmpty else {
      self = .empty
      return
    }
    self.init(RangeReduction.exactRun(base, values.count))
  }

  /// The range of both parts: NaN wins, otherwise the smaller minimum and larger maximum.
  public func merging(_ other: ValueRange) -> ValueRange {
    if isNaN || other.isNaN { return ValueRange(min: .nan, max: .nan) }
    return ValueRange(min: Swift.min(min, other.min), max: Swift.max(max, other.max))
  }

  /// Whether a NaN was seen.
  public var isNaN: Bool { min.isNaN || max.isNaN }

  /// Whether both ends are finite: then no value is NaN (a NaN makes both NaN) or ±∞.
  public var isFinite: Bool { min.isFinite && max.isFinite }

  /// NaN-aware equality: two NaN ranges are equal (both saw a NaN).
  public static func == (a: ValueRange, b: ValueRange) -> Bool {
    if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
    return a.min == b.min && a.max == b.max
  }
}
