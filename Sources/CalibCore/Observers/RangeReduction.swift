/// Per-parameter minimum and maximum over a ``GroupLayout`` (`torch.amin`/`amax` over
/// dims (0, -1)).
///
/// NaN policy: a parameter whose elements include a NaN gets NaN for both, as torch
/// does; ±∞ takes part as an ordinary value. Callers that must refuse non-finite input
/// check the result (``containsNonFinite(_:_:)``) and only then count the culprits, so the
/// clean path costs one pass.
///
/// Precision: exact (min and max do not round). The order of evaluation does not matter.
/// Complexity: O(n), SIMD over each contiguous run.
public enum RangeReduction {
  /// The minimum and maximum of each parameter's elements. A zero-padded BLOCK edge
  /// includes 0.
  public static func minMax(_ values: [Float], layout: GroupLayout) -> ([Float], [Float]) {
    var mins = [Float](repeating: .infinity, count: layout.count)
    var maxs = [Float](repeating: -.infinity, count: layout.count)
    values.withUnsafeBufferPointer { buffer in
      guard let base = buffer.baseAddress else { return }
      for q in 0..<layout.count {
        var lo = Float.infinity
        var hi = -Float.infinity
        var sawNaN = false
        let padded = layout.forEachRun(of: q) { start, length in
          runMinMax(base + start, length, &lo, &hi, &sawNaN)
        }
        if padded {
          lo = Swift.min(lo, 0)
          hi = Swift.max(hi, 0)
        }
        if sawNaN {
          lo = .nan
          hi = .nan
        }
        mins[q] = lo
        maxs[q] = hi
      }
    }
    return (mins, maxs)
  }

  /// The minimum and maximum of all elements (NaN if any is NaN); (+∞, -∞) when empty.
  public static func minMax(_ values: [Float]) -> (Float, Float) {
    var lo = Float.infinity
    var hi = -Float.infinity
    var sawNaN = false
    values.withUnsafeBufferPointer { buffer in
      guard let base = buffer.baseAddress else { return }
      runMinMax(base, buffer.count, &lo, &hi, &sawNaN)
    }
    return sawNaN ? (.nan, .nan) : (lo, hi)
  }

  /// Whether a reduced range shows a NaN or an infinity in its source.
  public static func containsNonFinite(_ mins: [Float], _ maxs: [Float]) -> Bool {
    !(mins.allSatisfy(\.isFinite) && maxs.allSatisfy(\.isFinite))
  }

  /// Folds one contiguous run into `lo`/`hi`, recording whether a NaN was seen.
  @inline(__always)
  static func runMinMax(
    _ p: UnsafePointer<Float>, _ n: Int, _ lo: inout Float, _ hi: inout Float,
    _ sawNaN: inout Bool
  ) {
    typealias V = SIMD16<Float>
    var i = 0
    if n >= V.scalarCount {
      var vlo = V(repeating: .infinity)
      var vhi = V(repeating: -.infinity)
      var nan = SIMDMask<V.MaskStorage>(repeating: false)
      let raw = UnsafeRawPointer(p)
      while i + V.scalarCount <= n {
        // Unaligned load: runs start anywhere in the buffer.
        let v = raw.loadUnaligned(fromByteOffset: i * 4, as: V.self)
        vlo = pointwiseMin(vlo, v)
        vhi = pointwiseMax(vhi, v)
        nan .|= v .!= v
        i += V.scalarCount
      }
      lo = Swift.min(lo, vlo.min())
      hi = Swift.max(hi, vhi.max())
      if any(nan) { sawNaN = true }
    }
    while i < n {
      let x = p[i]
      if x.isNaN { sawNaN = true }
      if x < lo { lo = x }
      if x > hi { hi = x }
      i += 1
    }
  }
}
