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
    // |x| and the zeros to skip are applied while counting, never materialised: max |x|
    // is max(|min|, |max|), and skipping zeros changes the maximum only when all are zero.
    let absolute = mn < 0
    let xMax = absolute ? Swift.max(abs(mn), abs(mx)) : mx
    if skipZeros && xMax == 0 {
      throw ObserverError.unsupported(
        observer: observer, reason: "every value of this step is zero and skip_zeros drops them all (torch's max fails on an empty tensor)")
    }
    let minimum = old.map { mn < $0.minimum ? mn : $0.minimum } ?? mn
    let maximum = old.map { mx > $0.maximum ? mx : $0.maximum } ?? mx
    var edges: [Float]
    var binCount = bins
    if let old {
      edges = old.edges
      binCount = old.counts.count
      if let last = edges.last, xMax > last {
        let width = edges[1] - edges[0]
        let grown = (xMax / width).rounded(.up)
        try HistogramCounting.checkGrowth(to: Double(grown), observer: observer)
        binCount = Int(grown)
        edges = arange(end: xMax + width, step: width)
      }
    } else {
      edges = linspace(0, xMax, count: bins + 1)
    }
    let hi = edges.last ?? xMax
    // histc computes (x - lo) * bins before dividing: that must not overflow to ∞.
    guard (hi * Float(binCount)).isFinite else {
      throw ObserverError.unsupported(
        observer: observer,
        reason: "|x| up to \(hi) times \(binCount) bins overflows float32 in torch.histc's bin arithmetic: use fewer num_bins")
    }
    var counts = histc(x, bins: binCount, lo: 0, hi: hi, absolute: absolute, skipZeros: skipZeros, parallel: parallel)
    if let old {
      // hist[:old] += old, in float32.
      for i in 0..<Swift.min(old.counts.count, counts.count) {
        counts[i] = Int64(Float(counts[i]) + Float(old.counts[i]))
      }
    }
    return CalibrationHistogram(counts: counts, edges: edges, minimum: minimum, maximum: maximum, threshold: nil)
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
  /// would hold them (a bin stops at 2^24, where float32 `+= 1` stops changing it), of
  /// |x| when `absolute`, without the zeros when `skipZeros`.
  static func histc(
    _ x: UnsafeBufferPointer<Float>, bins: Int, lo rawLo: Float, hi rawHi: Float, absolute: Bool = false,
    skipZeros: Bool = false, parallel: Bool
  ) -> [Int64] {
    var lo = rawLo
    var hi = rawHi
    if lo == hi {
      // histc: min == max == 0 takes the data's range; equal bounds widen by 1 each way.
      // (Only reached with all-zero data here, whose range is 0...0.)
      if lo == 0 {
        lo = 0
        hi = 0
      }
      if lo == hi {
        lo -= 1
        hi += 1
      }
    }
    let kernel = HistcBins(lo: lo, hi: hi, bins: bins, absolute: absolute, skipZeros: skipZeros)
    let counts = HistogramCounting.counts(x, bins: bins, parallel: parallel, kernel: kernel)
    return counts.map { Swift.min($0, 1 << 24) }
  }

  /// `histc`'s bin arithmetic: `trunc(((x - lo) * bins) / (hi - lo))` in float32, `bins`
  /// joining the last bin; |x| when `absolute`; zeros dropped when `skipZeros`.
  struct HistcBins: BinKernel {
    let lo: SIMD8<Float>
    let hi: SIMD8<Float>
    let n: SIMD8<Float>
    let span: SIMD8<Float>
    let binCount: SIMD8<Int32>
    let absolute: Bool
    let skipZeros: Bool

    init(lo: Float, hi: Float, bins: Int, absolute: Bool, skipZeros: Bool) {
      self.lo = SIMD8(repeating: lo)
      self.hi = SIMD8(repeating: hi)
      n = SIMD8(repeating: Float(bins))
      span = SIMD8(repeating: hi - lo)
      binCount = SIMD8(repeating: Int32(bins))
      self.absolute = absolute
      self.skipZeros = skipZeros
    }

    @inline(__always)
    func bins(_ raw: SIMD8<Float>) -> (index: SIMD8<Int32>, keep: SIMD8<Int32>) {
      let v = absolute ? raw.magnitudes : raw
      var keep = v.laneMask(from: lo, through: hi)
      if skipZeros { keep &= ~(unsafeBitCast(v, to: SIMD8<Int32>.self) & 0x7FFF_FFFF .== 0).minusOnes }
      let i = (((v - lo) * n) / span).floorOfNonNegative()
      return (i &+ (i .== binCount).minusOnes, keep)  // bin `bins` joins the last
    }
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
