/// Counts of values in equal-width bins over a fixed interval.
///
/// For example:
/// ```swift
/// var bins = HistogramBins(lowerBound: 0, upperBound: 1, binCount: 4)
/// bins.add(0.1); bins.add(1); bins.add(.nan)
/// bins.counts     // [1, 0, 0, 1]
/// bins.nonFinite  // 1
/// ```
///
/// A value equal to `upperBound` falls in the last bin. Values outside the interval are
/// counted in ``outside``, NaN and ±∞ in ``nonFinite``; neither is in ``counts``. An
/// interval of one value (`2...2`) is widened as ``LinearScale`` widens a domain, so a
/// constant input gives one full bin. Adding is order-independent: the result depends
/// only on the multiset of values.
public struct HistogramBins: Sendable, Equatable {
  /// The low edge of the first bin.
  public let lowerBound: Double
  /// The high edge of the last bin (included in it).
  public let upperBound: Double
  public private(set) var counts: [Int]
  public private(set) var nonFinite = 0
  public private(set) var outside = 0

  /// Empty bins over `lowerBound...upperBound` (widened when equal; 0...1 when not finite).
  public init(lowerBound: Double, upperBound: Double, binCount: Int) {
    precondition(binCount > 0, "a histogram needs at least one bin")
    let d = LinearScale.widened(min(lowerBound, upperBound)...max(lowerBound, upperBound))
    self.lowerBound = d.lowerBound
    self.upperBound = d.upperBound
    counts = Array(repeating: 0, count: binCount)
  }

  /// Bins over the finite range of `values`, filled with them.
  public init(fitting values: [Double], binCount: Int) {
    let (lo, hi) = finiteExtent(values)
    self.init(lowerBound: lo, upperBound: hi, binCount: binCount)
    for v in values { add(v) }
  }

  /// The sum of ``counts``.
  public var total: Int { counts.reduce(0, +) }

  /// The width of one bin.
  public var binWidth: Double { (upperBound - lowerBound) / Double(counts.count) }

  /// Adds one value.
  public mutating func add(_ value: Double) {
    guard value.isFinite else {
      nonFinite += 1
      return
    }
    guard value >= lowerBound && value <= upperBound else {
      outside += 1
      return
    }
    let i = Int((value - lowerBound) / (upperBound - lowerBound) * Double(counts.count))
    counts[min(max(i, 0), counts.count - 1)] += 1
  }

  /// Adds float32 values (the fast path for stored samples).
  public mutating func add(_ values: UnsafeBufferPointer<Float>) {
    let lo = lowerBound
    let scale = Double(counts.count) / (upperBound - lowerBound)
    let last = counts.count - 1
    counts.withUnsafeMutableBufferPointer { c in
      for f in values {
        let v = Double(f)
        if !v.isFinite {
          nonFinite += 1
        } else if v < lo || v > upperBound {
          outside += 1
        } else {
          c[min(Int((v - lo) * scale), last)] += 1
        }
      }
    }
  }
}
