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
    _ values: UnsafeBufferPointer<Float>, bins: Int, lo rawLo: Float, hi rawHi: Float, observer: String
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
    var counts = [Int64](repeating: 0, count: bins)
    let denom = hi - lo
    let n = Float(bins)
    edges.withUnsafeBufferPointer { e in
      counts.withUnsafeMutableBufferPointer { c in
        for x in values where x >= lo && x <= hi {
          var i = Int(((x - lo) / denom) * n)
          if i == bins { i -= 1 }
          if x < e[i] { i -= 1 }
          if i != bins - 1 && x >= e[i + 1] { i += 1 }
          c[i] += 1
        }
      }
    }
    return (counts, edges)
  }

  /// `np.histogram(values, bins=edges)` with float64 edges (ascending): counts of
  /// `edges[i] <= x < edges[i + 1]`, the last bin closed; values outside are dropped.
  static func counting(_ values: UnsafeBufferPointer<Float>, edges: [Double]) -> [Int64] {
    let bins = edges.count - 1
    var counts = [Int64](repeating: 0, count: bins)
    guard bins > 0, let first = edges.first, let last = edges.last else { return counts }
    edges.withUnsafeBufferPointer { e in
      counts.withUnsafeMutableBufferPointer { c in
        for v in values {
          let x = Double(v)
          if !(x >= first && x <= last) { continue }
          // Upper bound: the first edge greater than x; its bin is the one before.
          var lowIndex = 0
          var highIndex = e.count
          while lowIndex < highIndex {
            let mid = (lowIndex + highIndex) / 2
            if e[mid] > x { highIndex = mid } else { lowIndex = mid + 1 }
          }
          c[min(lowIndex - 1, bins - 1)] += 1
        }
      }
    }
    return counts
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

  /// NumPy's pairwise float32 sum (`np.sum` of a contiguous float32 array): blocks of at
  /// most 128 summed with eight accumulators, larger arrays split in two at a multiple of
  /// eight.
  static func pairwiseSum(_ a: UnsafeBufferPointer<Float>) -> Float {
    let n = a.count
    if n < 8 {
      var r: Float = 0
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
