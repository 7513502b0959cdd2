/// NumPy 2.x's `histogram`, `linspace`, `arange` and float32 `floor_divide`, reproduced
/// operation by operation for float32 data, so that histogram calibrators written in
/// NumPy (onnxruntime's) give the same bins, edges and counts here.
///
/// Facts relied on (numpy 2.4, `lib/_histograms_impl.py`, `_core/function_base.py`,
/// checked against the installed library on random inputs):
/// - `histogram(a, n, range=(lo, hi))` on float32 with float32 bounds builds its edges
///   with `linspace(lo, hi, n + 1, dtype=float32)`: `step = (hi - lo) / n`, edge `i` is
///   `i * step + lo`, and the last edge is `hi` itself — each operation in float32. A
///   value `x` in `[lo, hi]` goes to bin `trunc(((x - lo) / (hi - lo)) * n)` (float32),
///   clamped to `n - 1`, then moved down one bin if `x < edge[i]` and up one if
///   `x >= edge[i + 1]` (except in the last bin). Values outside `[lo, hi]` are dropped.
///   Equal bounds become `lo - 0.5`, `hi + 0.5`; without `range` the bounds are the data's
///   min and max.
/// - `histogram(a, bins=edges)` counts `edges[i] <= x < edges[i + 1]`, the last bin closed,
///   by comparisons in the edges' dtype.
/// - `arange(start, stop, step)` with float32 scalars returns **float64**: its length is
///   `ceil(float32((stop - start) / step))`, element 1 is `float32(start + step)`, and
///   element `i ≥ 2` is `start + i * (element1 - start)` in double.
/// - float32 `a // b` is C `npy_floor_dividef`: `(a - fmod(a, b)) / b`, adjusted toward
///   the floor, rounded to the nearer integer.
enum NumPyHistogram {
  /// `linspace(lo, hi, bins + 1)` in float32, as `histogram` builds uniform edges.
  static func linspaceEdges(lo: Float, hi: Float, bins: Int) -> [Float] {
    let delta = hi - lo
    let step = delta / Float(bins)
    var edges = [Float](repeating: 0, count: bins + 1)
    if step == 0 {
      // linspace's fallback when the step underflows: (i / div) * delta.
      for i in 0...bins { edges[i] = (Float(i) / Float(bins)) * delta + lo }
    } else {
      for i in 0...bins { edges[i] = Float(i) * step + lo }
    }
    edges[bins] = hi
    return edges
  }

  /// The bounds `histogram` uses: equal bounds are widened by 0.5 each way (float32).
  static func outerEdges(lo: Float, hi: Float) -> (Float, Float) {
    lo == hi ? (lo - 0.5, hi + 0.5) : (lo, hi)
  }

  /// `np.histogram(values, bins, range=(lo, hi))` for float32 values and bounds; of |x|
  /// when `magnitudes` (without materialising |x|).
  ///
  /// Each lane follows NumPy's steps: `i = trunc(((x - lo) / (hi - lo)) * bins)`, `bins`
  /// moved to the last bin, one down if `x < edge[i]`, one up if `x >= edge[i + 1]` (not
  /// from the last bin). The edges below `hi` are `i * step + lo`, the linspace formula, so
  /// they are computed per lane rather than looked up.
  ///
  /// - Throws: ``ObserverError/unsupported(observer:reason:)`` where NumPy raises: bounds
  ///   not finite, or more bins than the float32 range can separate.
  /// - Precondition: `bins` is at most ``HistogramCounting/maximumBins``.
  static func uniform(
    _ values: UnsafeBufferPointer<Float>, bins: Int, lo rawLo: Float, hi rawHi: Float, magnitudes: Bool = false,
    observer: String, parallel: Bool = true
  ) throws -> (counts: [Int64], edges: [Float]) {
    guard rawLo.isFinite && rawHi.isFinite else {
      throw ObserverError.unsupported(observer: observer, reason: "the histogram range [\(rawLo), \(rawHi)] is not finite")
    }
    let (lo, hi) = outerEdges(lo: rawLo, hi: rawHi)
    let edges = linspaceEdges(lo: lo, hi: hi, bins: bins)
    for i in 0..<bins where !(edges[i] < edges[i + 1]) {
      throw ObserverError.unsupported(
        observer: observer,
        reason: "too many bins (\(bins)) for the data range [\(lo), \(hi)]: float32 cannot separate them (NumPy refuses it too); use fewer num_bins")
    }
    let kernel = UniformBins(lo: lo, hi: hi, bins: bins, magnitudes: magnitudes)
    let counts = HistogramCounting.counts(values, bins: bins, parallel: parallel, kernel: kernel)
    return (counts, edges)
  }

  /// `np.histogram(values, bins=edges)` with float64 edges (ascending): counts of
  /// `edges[i] <= x < edges[i + 1]`, the last bin closed; values outside are dropped.
  /// With `magnitudes`, counts |x| instead of x (without materialising |x|).
  ///
  /// The float64 comparisons are made in float32: `Double(x) >= e` exactly when `x` is at
  /// least the smallest float32 not below `e`, and `Double(x) <= e` when `x` is at most
  /// the largest not above it. The bin is the last whose lower bound `x` reaches (see
  /// ``EdgeSearchBins`` for how it is found). `knot`, when not 0, is the edge index where
  /// the spacing changes (an |x| histogram's first `num_bins`).
  ///
  /// - Precondition: `edges.count - 1` is at most ``HistogramCounting/maximumBins``.
  static func counting(
    _ values: UnsafeBufferPointer<Float>, edges: [Double], knot: Int = 0, magnitudes: Bool = false, parallel: Bool = true
  ) -> [Int64] {
    let bins = edges.count - 1
    guard bins > 0, let lastEdge = edges.last else { return [] }
    // lower[i]: the least float32 x with Double(x) >= edges[i]; lower[bins] = +inf ends
    // every upward search. top: the greatest float32 x with Double(x) <= edges[bins].
    var lower = edges.map { e -> Float in
      let f = Float(e)
      return Double(f) < e ? f.nextUp : f
    }
    lower[bins] = .infinity
    var top = Float(lastEdge)
    if Double(top) > lastEdge { top = top.nextDown }
    return lower.withUnsafeBufferPointer { t in
      let kernel = EdgeSearchBins(lower: t, top: top, knot: knot, magnitudes: magnitudes)
      return HistogramCounting.counts(values, bins: bins, parallel: parallel, kernel: kernel)
    }
  }

  /// `histogram(a, n, range=(lo, hi))`'s bin arithmetic (see
  /// ``uniform(_:bins:lo:hi:magnitudes:observer:parallel:)``). The edges below `hi` are
  /// `i * step + lo`, the linspace formula, so they are computed per lane, not looked up;
  /// distinct edges (checked by the caller) imply a nonzero step.
  ///
  /// NumPy's two corrections can only move a value whose `f = ((x - lo) / (hi - lo)) * n`
  /// lies near an integer. In bin units, `f` is within `4.01 u n` of the exact position
  /// `F = n (x - lo) / (hi - lo)` (u = 2^-24: three roundings and the subtraction), and
  /// each computed edge within `u n (3.01 + 1.01 M)` of its exact position, `M` being
  /// `max(|lo|, |hi|) / (hi - lo)` (the rounding of `i * step`, then of `+ lo`). A lane
  /// whose `f` is at least ``margin`` (twice their sum) from every integer therefore has
  /// `edge[⌊f⌋] <= x < edge[⌊f⌋ + 1]`, and NumPy leaves it in bin `⌊f⌋`; only vectors with
  /// a lane nearer than that take the exact corrections.
  struct UniformBins: BinKernel {
    let lo: SIMD8<Float>
    let hi: SIMD8<Float>
    let denom: SIMD8<Float>
    let n: SIMD8<Float>
    let step: SIMD8<Float>
    let binCount: SIMD8<Int32>
    let lastBin: SIMD8<Int32>
    /// How near an integer `f` must come for the corrections to be computed (≥ 0.5, all
    /// lanes, when the bound is that loose).
    let margin: SIMD8<Float>
    let magnitudes: Bool

    init(lo: Float, hi: Float, bins: Int, magnitudes: Bool) {
      self.lo = SIMD8(repeating: lo)
      self.hi = SIMD8(repeating: hi)
      denom = SIMD8(repeating: hi - lo)
      n = SIMD8(repeating: Float(bins))
      step = SIMD8(repeating: (hi - lo) / Float(bins))
      binCount = SIMD8(repeating: Int32(bins))
      lastBin = SIMD8(repeating: Int32(bins - 1))
      let m = Swift.max(Swift.abs(Double(lo)), Swift.abs(Double(hi))) / (Double(hi) - Double(lo))
      let bound = 2 * 0x1p-24 * Double(bins) * (8 + 2 * m)
      margin = HistogramCounting.margin(bound)
      self.magnitudes = magnitudes
    }

    @inline(__always)
    func bins(_ raw: SIMD8<Float>) -> (index: SIMD8<Int32>, keep: SIMD8<Int32>) {
      let v = magnitudes ? raw.magnitudes : raw
      let keep = v.laneMask(from: lo, through: hi)
      let (floor, distance) = (((v - lo) / denom) * n).flooredNonNegative()
      // distance < margin: their difference is negative.
      guard (keep & (distance - margin).signMask).hasNonzeroLane else { return (floor, keep) }
      var i = floor
      i &+= (i .== binCount).minusOnes  // bin `bins` joins the last
      let fi = SIMD8<Float>(i)
      let edge = fi * step + lo
      let down = v .< edge
      i &+= down.minusOnes
      // After a step down, the next edge is the one just compared with.
      let nextEdge = ((fi + 1) * step + lo).replacing(with: edge, where: down)
      i &-= (v .>= nextEdge).minusOnes & (i .!= lastBin).minusOnes
      return (i, keep)
    }
  }

  /// The bin whose float32 bounds hold each value: `lower[i]` is bin `i`'s least value,
  /// `lower[bins]` is +∞, `top` the greatest value counted.
  ///
  /// The edges are nearly uniform on each side of `knot` (an |x| histogram's first
  /// `num_bins` bins come from `linspace`, the bins it grew by from `arange` with a
  /// slightly different width), so a line on each side nearly gives the bin: `f = (x -
  /// lower[0]) * scale` below `lower[knot]`, `knot + (x - lower[knot]) * upperScale` from
  /// it. Measured at construction, `drift` bounds how far each bound's exact position on
  /// those lines lies from its index; `f` is within `3.01 u bins` of `x`'s exact position
  /// (u = 2^-24). A lane whose `f` is farther than ``margin`` (twice their sum) from every
  /// integer is in bin `⌊f⌋` exactly; the others look their bounds up and search where
  /// the guess was wrong.
  struct EdgeSearchBins: BinKernel, @unchecked Sendable {
    /// Borrowed for the duration of the count (read-only).
    let lower: UnsafeBufferPointer<Float>
    let first: SIMD8<Float>
    let top: SIMD8<Float>
    let scale: SIMD8<Float>
    let knotValue: SIMD8<Float>
    let knotIndex: SIMD8<Float>
    let upperScale: SIMD8<Float>
    let margin: SIMD8<Float>
    let lastBin: SIMD8<Int32>
    let magnitudes: Bool

    init(lower: UnsafeBufferPointer<Float>, top: Float, knot rawKnot: Int, magnitudes: Bool) {
      let bins = lower.count - 1
      self.lower = lower
      let knot = rawKnot > 0 && rawKnot < bins && lower[rawKnot] < top ? rawKnot : bins
      let knotValue = knot < bins ? lower[knot] : top
      let scale = Float(knot) / (knotValue - lower[0])
      let upperScale = knot < bins ? Float(bins - knot) / (top - knotValue) : 0
      first = SIMD8(repeating: lower[0])
      self.top = SIMD8(repeating: top)
      self.scale = SIMD8(repeating: scale)
      self.knotValue = SIMD8(repeating: knot < bins ? knotValue : .infinity)
      knotIndex = SIMD8(repeating: Float(knot))
      self.upperScale = SIMD8(repeating: upperScale)
      lastBin = SIMD8(repeating: Int32(bins - 1))
      self.magnitudes = magnitudes
      // Positions in double: exact to far below the margin's slack.
      func position(_ t: Float) -> Double {
        t < knotValue || knot == bins
          ? (Double(t) - Double(lower[0])) * Double(scale)
          : Double(knot) + (Double(t) - Double(knotValue)) * Double(upperScale)
      }
      var drift = Swift.abs(position(top) - Double(bins))
      for i in 0..<bins { drift = Swift.max(drift, Swift.abs(position(lower[i]) - Double(i))) }
      let bound = 2 * (drift + 0x1p-24 * Double(bins) * 3.01) + 0x1p-20
      margin = HistogramCounting.margin(bound)
    }

    @inline(__always)
    func bins(_ raw: SIMD8<Float>) -> (index: SIMD8<Int32>, keep: SIMD8<Int32>) {
      let v = magnitudes ? raw.magnitudes : raw
      let keep = v.laneMask(from: first, through: top)
      let f = ((v - first) * scale).replacing(with: knotIndex + (v - knotValue) * upperScale, where: v .>= knotValue)
      let (floor, distance) = f.flooredNonNegative()
      guard (keep & (distance - margin).signMask).hasNonzeroLane else { return (floor, keep) }
      var i = floor
      // Out-of-range lanes may guess anything; the clamp keeps their lookups in bounds (as
      // unsigned, a negative guess is above the last bin too).
      i.replace(with: lastBin, where: unsafeBitCast(i, to: SIMD8<UInt32>.self) .> unsafeBitCast(lastBin, to: SIMD8<UInt32>.self))
      var below = SIMD8<Float>()
      var above = SIMD8<Float>()
      for lane in 0..<8 {
        below[lane] = lower[Int(i[lane])]
        above[lane] = lower[Int(i[lane]) + 1]
      }
      let wrong = keep & ~((v .>= below).minusOnes & (v .< above).minusOnes)
      if wrong.hasNonzeroLane {
        for lane in 0..<8 where wrong[lane] != 0 {
          var j = Int(i[lane])
          while j > 0 && v[lane] < lower[j] { j -= 1 }
          while v[lane] >= lower[j + 1] { j += 1 }
          i[lane] = Int32(j)
        }
      }
      return (i, keep)
    }
  }

  /// The length `np.arange(start, stop, step)` computes for float32 scalars,
  /// `ceil(float32((stop - start) / step))`, before it becomes an integer (it may be
  /// negative, ∞ or NaN; ``arange(start:stop:step:)`` returns no elements then).
  static func arangeLength(start: Float, stop: Float, step: Float) -> Float {
    ((stop - start) / step).rounded(.up)
  }

  /// `np.arange(start, stop, step)` for float32 scalars: float64 elements.
  static func arange(start: Float, stop: Float, step: Float) -> [Double] {
    let length = arangeLength(start: start, stop: stop, step: step)
    guard length.isFinite, length > 0 else { return [] }
    let count = Int(length)
    var out = [Double](repeating: Double(start), count: count)
    if count == 1 { return out }
    let second = Double(start + step)
    let delta = second - Double(start)
    out[1] = second
    for i in 2..<count { out[i] = Double(start) + Double(i) * delta }
    return out
  }

  /// float32 `a // b` as NumPy computes it (`npy_floor_dividef`).
  static func floorDivide(_ a: Float, _ b: Float) -> Float {
    if b == 0 { return a / b }
    var mod = a.truncatingRemainder(dividingBy: b)
    var div = (a - mod) / b
    if mod != 0 {
      if (b < 0) != (mod < 0) {
        mod += b
        div -= 1
      }
    }
    if div != 0 {
      var floorDiv = div.rounded(.down)
      if div - floorDiv > 0.5 { floorDiv += 1 }
      return floorDiv
    }
    return Float(signOf: a / b, magnitudeOf: 0)
  }

  /// NumPy's pairwise sum (`np.sum` of a contiguous float32 or float64 array): blocks of
  /// at most 128 summed with eight accumulators, larger arrays split in two at a multiple
  /// of eight.
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  static func pairwiseSum<T: BinaryFloatingPoint>(_ a: UnsafeBufferPointer<T>) -> T {
    let n = a.count
    if n < 8 {
      var r: T = 0
      for x in a { r += x }
      return r
    }
    if n <= 128 {
      var r = (a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7])
      var i = 8
      while i < n - n % 8 {
        r.0 += a[i]
        r.1 += a[i + 1]
        r.2 += a[i + 2]
        r.3 += a[i + 3]
        r.4 += a[i + 4]
        r.5 += a[i + 5]
        r.6 += a[i + 6]
        r.7 += a[i + 7]
        i += 8
      }
      var res = ((r.0 + r.1) + (r.2 + r.3)) + ((r.4 + r.5) + (r.6 + r.7))
      while i < n {
        res += a[i]
        i += 1
      }
      return res
    }
    var half = n / 2
    half -= half % 8
    return pairwiseSum(UnsafeBufferPointer(rebasing: a[0..<half]))
      + pairwiseSum(UnsafeBufferPointer(rebasing: a[half..<n]))
  }
}
