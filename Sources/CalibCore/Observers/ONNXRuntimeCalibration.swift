#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// onnxruntime's calibrators (`onnxruntime/quantization/calibrate.py`, onnxruntime 1.32.0),
/// one tensor at a time: `MinMaxCalibrater`'s range merge and `HistogramCollector`'s
/// histograms and threshold searches, reproduced on float32 data in the source's own
/// precision (NumPy float32 for data and edges, float64 for the percentile CDF, float32
/// for the entropy's KL divergence).
///
/// One call to an `observe…` function is one `collect_data` call on a data reader that
/// yields one batch, i.e. one calibration step. Every function is deterministic and
/// independent of element order (histograms count; min/max are exact).
enum ONNXRuntimeCalibration {
  // MARK: MinMax

  /// `MinMaxCalibrater.compute_data` for one batch then `merge_range`:
  /// ```
  /// batch range   (mn, mx) = (min x, max x);  symmetric: (-a, a), a = max(|mn|, |mx|)
  /// first step    state := batch range
  /// later steps   state := (min(old, new) per bound)          moving_average false
  ///               state := old + f32(c) * (new - old)         moving_average true (float32)
  /// ```
  static func minMax(
    old: (Float, Float)?, batch: (Float, Float), symmetric: Bool, movingAverage: Bool, averagingConstant: Double
  ) -> (Float, Float) {
    var new = batch
    if symmetric {
      let a = Swift.max(abs(batch.0), abs(batch.1))
      new = (-a, a)
    }
    guard let old else { return new }
    if movingAverage {
      // Python float times a NumPy float32 scalar: the constant is taken as float32.
      let c = Float(averagingConstant)
      return (old.0 + c * (new.0 - old.0), old.1 + c * (new.1 - old.1))
    }
    return (new.0 < old.0 ? new.0 : old.0, new.1 > old.1 ? new.1 : old.1)
  }

  // MARK: Histograms

  /// `HistogramCollector.collect_value`: a histogram of signed values over
  /// `[-threshold, threshold]`, `threshold = max |x|`. A later batch with a larger
  /// threshold widens the histogram by whole old-width bins on both sides
  /// (`merge_histogram`) and re-bins only the new batch; the old counts are added in the
  /// middle.
  static func collectValue(
    _ old: CalibrationHistogram?, _ x: UnsafeBufferPointer<Float>, mn: Float, mx: Float, bins: Int, observer: String,
    parallel: Bool = true
  ) throws -> CalibrationHistogram {
    let threshold = Swift.max(abs(mn), abs(mx))
    guard let old, let oldThreshold = old.threshold else {
      let (counts, edges) = try NumPyHistogram.uniform(x, bins: bins, lo: -threshold, hi: threshold, observer: observer, parallel: parallel)
      return CalibrationHistogram(counts: counts, edges: edges, minimum: mn, maximum: mx, threshold: threshold)
    }
    let minimum = mn < old.minimum ? mn : old.minimum
    let maximum = mx > old.maximum ? mx : old.maximum
    let oldBins = old.counts.count
    if threshold <= oldThreshold {
      let (counts, _) = try NumPyHistogram.uniform(x, bins: oldBins, lo: -oldThreshold, hi: oldThreshold, observer: observer, parallel: parallel)
      return CalibrationHistogram(
        counts: zip(counts, old.counts).map { $0 + $1 }, edges: old.edges, minimum: minimum, maximum: maximum,
        threshold: oldThreshold)
    }
    if oldThreshold == 0 {
      var (counts, edges) = try NumPyHistogram.uniform(x, bins: oldBins, lo: -threshold, hi: threshold, observer: observer, parallel: parallel)
      for i in 0..<oldBins { counts[i] += old.counts[i] }
      return CalibrationHistogram(counts: counts, edges: edges, minimum: minimum, maximum: maximum, threshold: threshold)
    }
    let oldStride = 2 * oldThreshold / Float(oldBins)
    let halfBins = NumPyHistogram.floorDivide(threshold - oldThreshold, oldStride) + 1
    try HistogramCounting.checkGrowth(to: Double(oldBins) + 2 * Double(halfBins), observer: observer)
    let half = Int(halfBins)
    let newBins = oldBins + 2 * half
    let newThreshold = Float(half) * oldStride + oldThreshold
    var (counts, edges) = try NumPyHistogram.uniform(x, bins: newBins, lo: -newThreshold, hi: newThreshold, observer: observer, parallel: parallel)
    for i in 0..<oldBins { counts[half + i] += old.counts[i] }
    return CalibrationHistogram(counts: counts, edges: edges, minimum: minimum, maximum: maximum, threshold: newThreshold)
  }

  /// `HistogramCollector.collect_absolute_value`: a histogram of |x|. The first batch
  /// spans `[min |x|, max |x|]` in `bins` bins; a later batch whose max |x| passes the last
  /// edge appends edges of the first bin's width (`np.arange`, float64, which may add one
  /// bin past the maximum) and is counted against them in float64; values below the first
  /// edge are dropped, as NumPy drops them. Edges are stored back as float32.
  static func collectAbsoluteValue(
    _ old: CalibrationHistogram?, _ x: UnsafeBufferPointer<Float>, mn: Float, mx: Float, bins: Int, observer: String,
    parallel: Bool = true
  ) throws -> CalibrationHistogram {
    // Only the first step builds |x| (its lower bound is the smallest |x|); later steps
    // count |x| on the fly, and max |x| is max(|min|, |max|).
    let amax = Swift.max(abs(mn), abs(mx))
    guard let old else {
      let (counts, edges) = try NumPyHistogram.uniform(
        x, bins: bins, lo: smallestMagnitude(x, mn: mn, mx: mx), hi: amax, magnitudes: true, observer: observer,
        parallel: parallel)
      return CalibrationHistogram(counts: counts, edges: edges, minimum: mn, maximum: mx, threshold: nil)
    }
    var edges = old.edges.map(Double.init)
    if let last = old.edges.last, amax > last {
      let width = old.edges[1] - old.edges[0]
      let (start, stop) = (last + width, amax + width)
      let added = NumPyHistogram.arangeLength(start: start, stop: stop, step: width)
      try HistogramCounting.checkGrowth(to: Double(edges.count) + Double(added), observer: observer)
      edges += NumPyHistogram.arange(start: start, stop: stop, step: width)
    }
    // The first `bins` bins are the first step's linspace; the rest arange's.
    var counts = NumPyHistogram.counting(x, edges: edges, knot: bins, magnitudes: true, parallel: parallel)
    for i in 0..<old.counts.count { counts[i] += old.counts[i] }
    return CalibrationHistogram(
      counts: counts, edges: edges.map { Float($0) }, minimum: mn < old.minimum ? mn : old.minimum,
      maximum: mx > old.maximum ? mx : old.maximum, threshold: nil)
  }

  /// `min |x|`, which bounds the first |x| histogram: `min x` or `-max x` when `x` keeps
  /// one sign, otherwise one pass over `x`.
  private static func smallestMagnitude(_ x: UnsafeBufferPointer<Float>, mn: Float, mx: Float) -> Float {
    if mn >= 0 { return mn }
    if mx <= 0 { return -mx }
    var smallest = SIMD8<Float>(repeating: .infinity)
    var k = 0
    if let base = x.baseAddress {
      while k + 8 <= x.count {
        let m = UnsafeRawPointer(base).loadUnaligned(fromByteOffset: k &* 4, as: SIMD8<Float>.self).magnitudes
        smallest.replace(with: m, where: m .< smallest)
        k += 8
      }
    }
    var result = smallest.min()
    while k < x.count {
      result = Swift.min(result, abs(x[k]))
      k += 1
    }
    return result
  }

  // MARK: Thresholds

  /// `compute_percentile`: the edge where the CDF (float64, `cumsum(hist / total)`) first
  /// reaches `percentile / 100` — on |x| when symmetric, giving `(-edge, edge)` — or, when
  /// not symmetric, the edges where it first reaches `cut` and `1 - cut` with
  /// `cut = (100 - percentile) / 200`; each bound then clamped to the data's min / max.
  static func percentileRange(_ h: CalibrationHistogram, percentile: Double, symmetric: Bool) -> (Float, Float) {
    let total = Double(h.counts.reduce(0, +))
    var cdf = [Double](repeating: 0, count: h.counts.count)
    var running = 0.0
    for (i, c) in h.counts.enumerated() {
      running += Double(c) / total
      cdf[i] = running
    }
    func firstReaching(_ v: Double) -> Int {
      var lo = 0
      var hi = cdf.count
      while lo < hi {
        let mid = (lo + hi) / 2
        if cdf[mid] < v { lo = mid + 1 } else { hi = mid }
      }
      return lo
    }
    var range: (Float, Float)
    if symmetric {
      let e = h.edges[firstReaching(percentile / 100)]
      range = (-e, e)
    } else {
      let cut = (100 - percentile) / 200
      range = (h.edges[firstReaching(cut)], h.edges[firstReaching(1 - cut)])
    }
    if range.0 < h.minimum { range.0 = h.minimum }
    if range.1 > h.maximum { range.1 = h.maximum }
    return range
  }

  /// `compute_distribution`: the range is the histogram's lowest and highest edge (the
  /// source also reports a mean and standard deviation, which do not enter the range).
  static func distributionRange(_ h: CalibrationHistogram) -> (Float, Float) {
    (h.edges.min() ?? 0, h.edges.max() ?? 0)
  }

  /// `get_entropy_threshold`: for `i` from `quantizedBins / 2` to `bins / 2`, the window of
  /// `2i + 1` bins around the middle bin is the reference distribution `p` (outliers
  /// folded into its end bins); `q` merges the window into `quantizedBins` bins (the last
  /// takes the remainder) and spreads each back evenly (integer division) over its
  /// width; both are smoothed (zeros become 0.0001, the rest give up as much) and their
  /// KL divergence computed in float32. The first minimum wins; its window's edges,
  /// clamped to the data's min / max, are the range.
  ///
  /// Complexity: O(bins²). KL sums follow NumPy's pairwise float32 summation; the
  /// logarithm is the C library's `logf` (NumPy's vectorised log can differ in the last
  /// ulp, which matters only for a near-tie between two windows).
  static func entropyRange(_ h: CalibrationHistogram, quantizedBins: Int, observer: String) throws -> (Float, Float) {
    let hist = h.counts
    let bins = hist.count
    let zero = bins / 2
    let halfQ = quantizedBins / 2
    guard zero >= halfQ else {
      throw ObserverError.unsupported(
        observer: observer,
        reason: "the histogram has \(bins) bins, fewer than num_quantized_bins (\(quantizedBins)) needs (onnxruntime fails on it): raise num_bins")
    }
    var prefix = [Int64](repeating: 0, count: bins + 1)
    for i in 0..<bins { prefix[i + 1] = prefix[i] + hist[i] }
    var best = Float.infinity
    var bestIndex = -1
    var bestRange: (Float, Float) = (0, 0)
    var p = [Int64]()
    var q = [Int64]()
    var pf = [Float]()
    var qf = [Float]()
    for i in halfQ...zero {
      let start = zero - i
      let end = Swift.min(zero + i + 1, bins)
      let width = end - start
      p.removeAll(keepingCapacity: true)
      p.append(contentsOf: hist[start..<end])
      p[0] += prefix[start]
      p[width - 1] += prefix[bins] - prefix[end]
      let merged = width / quantizedBins
      q = [Int64](repeating: 0, count: width)
      for index in 0..<quantizedBins {
        let s = index * merged
        let e = s + merged
        var total = prefix[start + e] - prefix[start + s]
        if index == quantizedBins - 1 { total += prefix[end] - prefix[start + quantizedBins * merged] }
        var norm: Int64 = 0
        for k in s..<e where p[k] != 0 { norm += 1 }
        if norm != 0 {
          // int64 / int64 is a float64 true division; storing it in q's int64 truncates.
          let v = Int64(Double(total) / Double(norm))
          for k in s..<e { q[k] = v }
        }
      }
      var div = Float.infinity
      if try smooth(p, into: &pf, observer: observer) && smooth(q, into: &qf, observer: observer) {
        div = klDivergence(pf, qf)
      }
      // np.argmin: the first NaN if there is one, else the first minimum.
      let better = bestIndex < 0 || (!best.isNaN && (div.isNaN || div < best))
      if better {
        best = div
        bestIndex = i
        bestRange = (h.edges[start], h.edges[end])
      }
    }
    if bestRange.0 < h.minimum { bestRange.0 = h.minimum }
    if bestRange.1 > h.maximum { bestRange.1 = h.maximum }
    return bestRange
  }

  /// `quant_utils.smooth_distribution(p, eps=0.0001)` into `out`; `false` when `p` is all
  /// zeros (the source returns `None`, which scores the window ∞).
  private static func smooth(_ p: [Int64], into out: inout [Float], observer: String) throws -> Bool {
    var zeros = 0
    for v in p where v == 0 { zeros += 1 }
    let nonzeros = p.count - zeros
    if nonzeros == 0 { return false }
    let eps1 = 0.0001 * Double(zeros) / Double(nonzeros)
    guard eps1 < 1 else {
      throw ObserverError.unsupported(
        observer: observer,
        reason: "a window has \(zeros) empty bins for \(nonzeros) filled ones, which onnxruntime's smoothing refuses (eps1 ≥ 1): use fewer num_bins")
    }
    let add = Float(0.0001) + (-Float(eps1)) * 0
    let take = Float(0.0001) * 0 + (-Float(eps1))
    out.removeAll(keepingCapacity: true)
    for v in p { out.append(Float(v) + (v == 0 ? add : take)) }
    return true
  }

  /// The source's `entropy(pk, qk)`: both normalised by their float32 sums, then
  /// `sum(pk * log(pk / qk))` in float32.
  private static func klDivergence(_ p: [Float], _ q: [Float]) -> Float {
    let sp = p.withUnsafeBufferPointer(NumPyHistogram.pairwiseSum)
    let sq = q.withUnsafeBufferPointer(NumPyHistogram.pairwiseSum)
    var terms = [Float](repeating: 0, count: p.count)
    for k in 0..<p.count {
      let pk = p[k] / sp
      let qk = q[k] / sq
      // rel_entr sets 0 where pk == 0, then ∞ wherever pk or qk is not positive (which
      // overrides the 0): only positive pairs keep the formula.
      if !(pk > 0 && qk > 0) {
        terms[k] = .infinity
      } else {
        terms[k] = pk * logf(pk / qk)
      }
    }
    return terms.withUnsafeBufferPointer(NumPyHistogram.pairwiseSum)
  }
}
