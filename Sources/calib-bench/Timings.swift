import Foundation

/// The times one case took over several rounds: reported as the median with the spread
/// (fastest and slowest), because this machine is shared and a single number hides noise.
struct Timings {
  private(set) var seconds: [Double] = []

  mutating func append(_ s: Double) { seconds.append(s) }

  var median: Double {
    let sorted = seconds.sorted()
    guard !sorted.isEmpty else { return .nan }
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
  }

  var fastest: Double { seconds.min() ?? .nan }
  var slowest: Double { seconds.max() ?? .nan }

  /// `"min–max"` for the JSON line, so a reader sees how far one round is from another.
  var spread: String { String(format: "%.4g-%.4g", fastest, slowest) }

  /// Runs `body` once and records its wall time.
  mutating func time(_ body: () throws -> Void) rethrows {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
  }
}

/// Ratio of two medians, `numerator / denominator`, with the spread of the per-round
/// ratios (rounds pair up in order: round i of one side with round i of the other).
struct RatioSummary {
  let median: Double
  let low: Double
  let high: Double

  init(_ numerator: Timings, over denominator: Timings) {
    median = numerator.median / denominator.median
    let paired = zip(numerator.seconds, denominator.seconds).map { $0 / $1 }
    low = paired.min() ?? .nan
    high = paired.max() ?? .nan
  }

  var spread: String { String(format: "%.3g-%.3g", low, high) }
}
