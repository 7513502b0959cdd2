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

  /// `np.histogram(values, bins, range=(lo, hi))` for float32 values and bounds.
  ///
  /// - Throws: ``ObserverError/unsupported(observer:reason:)`` where NumPy raises: bounds
  ///   not finite, or more bins than the float32 range can separate.
  static func uniform(
    _ values: UnsafeBufferPointer<Float>, bins: Int, lo rawLo: Float, hi rawHi: Float, observer: String,
    parallel: Bool = true
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
    let denom = hi - lo
    let n = Float(bins)
    let counts = edges.withUnsafeBufferPointer { e in
      chunkedCounts(values, bins: bins, parallel: parallel) { x, c in
        let lo8 = SIMD8<Float>(repeating: lo)
        var k = 0
        while k + 8 <= x.count {
          let v = UnsafeRawPointer(x.baseAddress!).loadUnaligned(fromByteOffset: k &* 4, as: SIMD8<Float>.self)
          let f = ((v - lo8) / denom) * n
          // Per lane: the generic SIMD float-to-int conversion is far slower than a scalar
          // truncation, and lanes out of range (skipped) need no index at all.
          for lane in 0..<8 {
            let y = v[lane]
            if y >= lo && y <= hi { c[(lane & 3) &* bins &+ bin(y, guess: Int(f[lane]), bins: bins, e)] += 1 }
          }
          k += 8
        }
        while k < x.count {
          let v = x[k]
          if v >= lo && v <= hi { c[bin(v, guess: Int(((v - lo) / denom) * n), bins: bins, e)] += 1 }  // sub-table 0
          k += 1
        }
      }
    }
    return (counts, edges)
  }

  /// NumPy's correction of a computed bin index: clamp `bins` to the last bin, one step
  /// down when `x` is below the bin's left edge, one step up when it reaches the next edge.
  @inline(__always)
  private static func bin(_ x: Float, guess: Int, bins: Int, _ e: UnsafeBufferPointer<Float>) -> Int {
    var i = guess == bins ? bins - 1 : guess
    if x < e[i] { i -= 1 }
    if i != bins - 1 && x >= e[i + 1] { i += 1 }
    return i
  }

  /// Elements per counting chunk: a function of the input only, so the work split (and
  /// with integer counts, the result) never depends on the thread count.
  static let chunkSize = 1 << 18
  /// Sub-tables per chunk (see ``chunkedCounts(_:bins:parallel:_:)``).
  static let ways = 4

  /// Counts `values` chunk by chunk, each chunk into its own table (on the shared pool
  /// when `parallel`), then adds the tables; exact, so identical to one sequential pass.
  /// A chunk's table holds ``ways`` consecutive sub-tables of `bins` counts: the counting
  /// closure spreads neighbouring elements over them, so that runs of equal bins do not
  /// wait on one another's increments.
  static func chunkedCounts(
    _ values: UnsafeBufferPointer<Float>, bins: Int, parallel: Bool,
    _ count: (UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Int32>) -> Void
  ) -> [Int64] {
    let chunks = Swift.max(1, (values.count + chunkSize - 1) / chunkSize)
    let stride = ways * bins
    var tables = [Int32](repeating: 0, count: chunks * stride)
    withoutActuallyEscaping(count) { count in
      let body = UnsafeSendable(count)
      tables.withUnsafeMutableBufferPointer { t in
        let out = SharedPointer(t.baseAddress!)
        let input = SharedPointer(values.baseAddress ?? UnsafePointer(bitPattern: 8)!)
        let total = values.count
        ForkJoin.forEach(chunks, parallel: parallel && chunks > 1) { chunk in
          let start = chunk * chunkSize
          let end = Swift.min(total, start + chunkSize)
          body.value(
            UnsafeBufferPointer(start: input.readOnly + start, count: Swift.max(0, end - start)),
            UnsafeMutableBufferPointer(start: out.base + chunk * stride, count: stride))
        }
      }
    }
    var counts = [Int64](repeating: 0, count: bins)
    for table in 0..<chunks * ways {
      for b in 0..<bins { counts[b] += Int64(tables[table * bins + b]) }
    }
    return counts
  }

  /// `np.histogram(values, bins=edges)` with float64 edges (ascending): counts of
  /// `edges[i] <= x < edges[i + 1]`, the last bin closed; values outside are dropped.
  ///
  /// With `magnitudes`, counts |x| instead of x (without materialising |x|).
  static func counting(
    _ values: UnsafeBufferPointer<Float>, edges: [Double], magnitudes: Bool = false, parallel: Bool = true
  ) -> [Int64] {
    let bins = edges.count - 1
    guard bins > 0, let first = edges.first, let last = edges.last else { return [] }
    // The edges are nearly uniform: guess the bin from the mean width, then walk to the
    // bin whose edges hold x (exact comparisons decide; the guess only saves a search).
    let scale = Double(bins) / (last - first)
    return edges.withUnsafeBufferPointer { e in
      chunkedCounts(values, bins: bins, parallel: parallel) { x, c in
        for (k, v) in x.enumerated() {
          let d = Double(magnitudes ? abs(v) : v)
          if !(d >= first && d <= last) { continue }
          var i = Swift.min(bins - 1, Int((d - first) * scale))
          while i > 0 && d < e[i] { i -= 1 }
          while i < bins - 1 && d >= e[i + 1] { i += 1 }
          c[(k & 3) &* bins &+ i] += 1
        }
      }
    }
  }

  /// `np.arange(start, stop, step)` for float32 scalars: float64 elements.
  static func arange(start: Float, stop: Float, step: Float) -> [Double] {
    let length = ((stop - start) / step).rounded(.up)
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

/// A non-escaping closure handed to fork-join work items. Invariant: the closure only
/// writes the table slice it is given, so concurrent calls touch disjoint memory.
private struct UnsafeSendable<T>: @unchecked Sendable {
  let value: T
  init(_ value: T) { self.value = value }
}
