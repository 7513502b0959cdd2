/// nvidia-modelopt's `HistogramCalibrator` (`modelopt/torch/quantization/calib/histogram.py`,
/// nvidia-modelopt 0.47.0) with its default `torch_hist=True`, on one tensor: a histogram of
/// |x| from 0, counted by `torch.histc` in float32, then `compute_amax("percentile")`.
///
/// Per step (`collect`):
/// ```
/// x := |x| if min x < 0;  skip_zeros drops the zeros;  m := max x
/// first step   hist := histc(x, num_bins, 0, m);  edges := linspace(0, m, num_bins + 1)
/// later steps  if m > edges[-1]: w := edges[1] - edges[0];  num_bins := ceil(m / w)
///                                edges := arange(0, m + w, w)
///              hist := histc(x, num_bins, 0, edges[-1]);  hist[:old] += old
/// ```
/// `histc` puts `x` in bin `int((x - lo) * bins / (hi - lo))` (float32; `hi` in the last
/// bin), counting in float32; `linspace` is torch's two-ended fill, computed here with
/// fused multiply-adds as torch's CPU build does. After growth the bins of the count
/// (`num_bins` over `[0, edges[-1]]`) are not the bins of the edges — a quirk of the
/// source, reproduced.
enum ModelOptCalibration {
  /// One `collect` call.
  ///
  /// - Throws: ``ObserverError/unsupported(observer:reason:)`` when nothing is left to
  ///   count (every value was a skipped zero), where torch's `max` fails.
  static func collect(
    _ old: CalibrationHistogram?, _ x: UnsafeBufferPointer<Float>, mn: Float, mx: Float, bins: Int, skipZeros: Bool,
    observer: String, parallel: Bool
  ) throws -> CalibrationHistogram {
    let absolute = mn < 0
    var values = absolute ? x.map { abs($0) } : Array(x)
    if skipZeros { values.removeAll { $0 == 0 } }
    guard let xMax = values.max() else {
      throw ObserverError.unsupported(
        observer: observer, reason: "every value of this step is zero and skip_zeros drops them all (torch's max fails on an empty tensor)")
    }
    let minimum = old.map { mn < $0.minimum ? mn : $0.minimum } ?? mn
    let maximum = old.map { mx > $0.maximum ? mx : $0.maximum } ?? mx
    return values.withUnsafeBufferPointer { v in
      guard let old else {
        let counts = histc(v, bins: bins, lo: 0, hi: xMax, parallel: parallel)
        return CalibrationHistogram(
          counts: counts, edges: linspace(0, xMax, count: bins + 1), minimum: minimum, maximum: maximum, threshold: nil)
      }
      var edges = old.edges
      var binCount = old.counts.count
      if let last = edges.last, xMax > last {
        let width = edges[1] - edges[0]
        binCount = Int((xMax / width).rounded(.up))
        edges = arange(end: xMax + width, step: width)
      }
      var counts = histc(v, bins: binCount, lo: 0, hi: edges.last ?? xMax, parallel: parallel)
      // hist[:old] += old, in float32.
      for i in 0..<Swift.min(old.counts.count, counts.count) {
        counts[i] = Int64(Float(counts[i]) + Float(old.counts[i]))
      }
      return CalibrationHistogram(counts: counts, edges: edges, minimum: minimum, maximum: maximum, threshold: nil)
    }
  }

  /// `_compute_amax_percentile`: the CDF (float64, of the counts cast to int32) first
  /// reaching `percentile / 100` picks the edge `amax`; the range is `(-amax, amax)`.
  static func percentileRange(_ h: CalibrationHistogram, percentile: Double, observer: String) throws -> (Float, Float) {
    let counts = h.counts.map { Int64(Int32(truncatingIfNeeded: $0)) }
    let total = Double(counts.reduce(0, +))
    var running = 0.0
    var index = counts.count
    for (i, c) in counts.enumerated() {
      running += Double(c) / total
      if running >= percentile / 100 {
        index = i
        break
      }
    }
    guard index < h.edges.count else {
      throw ObserverError.unsupported(
        observer: observer, reason: "the percentile falls past the histogram's last edge (modelopt fails with an IndexError)")
    }
    let amax = h.edges[index]
    return (-amax, amax)
  }

  /// `torch.histc(x, bins, min: lo, max: hi)` on float32 CPU tensors, counts as float32
  /// would hold them (a bin stops at 2^24, where float32 `+= 1` stops changing it).
  static func histc(_ x: UnsafeBufferPointer<Float>, bins: Int, lo rawLo: Float, hi rawHi: Float, parallel: Bool) -> [Int64] {
    var lo = rawLo
    var hi = rawHi
    if lo == hi {
      // histc: min == max == 0 takes the data's range; equal bounds widen by 1 each way.
      if lo == 0 {
        lo = x.min() ?? 0
        hi = x.max() ?? 0
      }
      if lo == hi {
        lo -= 1
        hi += 1
      }
    }
    let n = Float(bins)
    let span = hi - lo
    let counts = NumPyHistogram.chunkedCounts(x, bins: bins, parallel: parallel) { chunk, c in
      for (k, v) in chunk.enumerated() where v >= lo && v <= hi {
        var pos = Int((v - lo) * n / span)
        if pos == bins { pos = bins - 1 }
        c[(k & 3) &* bins &+ pos] += 1
      }
    }
    return counts.map { Swift.min($0, 1 << 24) }
  }

  /// `torch.linspace(start, end, count)` in float32 on CPU: the first half counted up from
  /// `start`, the second down from `end`, each a fused multiply-add.
  static func linspace(_ start: Float, _ end: Float, count: Int) -> [Float] {
    guard count > 1 else { return count == 1 ? [start] : [] }
    let step = (end - start) / Float(count - 1)
    let half = count / 2
    return (0..<count).map { i in
      i < half ? start.addingProduct(step, Float(i)) : end.addingProduct(-step, Float(count - i - 1))
    }
  }

  /// `torch.arange(0, end, step)` for float32 scalars: `ceil(end / step)` elements (in
  /// double), element `i` = `float(i * step)` computed in double. torch's vectorised fill
  /// steps from a base every few elements and can differ by one ulp.
  static func arange(end: Float, step: Float) -> [Float] {
    let length = (Double(end) / Double(step)).rounded(.up)
    guard length.isFinite, length > 0 else { return [] }
    return (0..<Int(length)).map { Float(Double($0) * Double(step)) }
  }
}
