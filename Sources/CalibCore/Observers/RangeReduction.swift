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
  ///
  /// Four SIMD8 accumulators break the dependency chains; `replacing(with:where:)` lowers
  /// to compare-and-blend (the generic `pointwiseMin` does not vectorize). NaN lanes never
  /// win a comparison, so they are tracked separately.
  @inline(__always)
  static func runMinMax(
    _ p: UnsafePointer<Float>, _ n: Int, _ lo: inout Float, _ hi: inout Float,
    _ sawNaN: inout Bool
  ) {
    typealias V = SIMD8<Float>
    let width = V.scalarCount
    var i = 0
    if n >= 4 * width {
      var lo0 = V(repeating: .infinity), lo1 = lo0, lo2 = lo0, lo3 = lo0
      var hi0 = V(repeating: -.infinity), hi1 = hi0, hi2 = hi0, hi3 = hi0
      var nan = SIMDMask<V.MaskStorage>(repeating: false)
      let raw = UnsafeRawPointer(p)
      while i + 4 * width <= n {
        // Unaligned loads: runs start anywhere in the buffer.
        let a = raw.loadUnaligned(fromByteOffset: i * 4, as: V.self)
        let b = raw.loadUnaligned(fromByteOffset: (i + width) * 4, as: V.self)
        let c = raw.loadUnaligned(fromByteOffset: (i + 2 * width) * 4, as: V.self)
        let d = raw.loadUnaligned(fromByteOffset: (i + 3 * width) * 4, as: V.self)
        lo0.replace(with: a, where: a .< lo0)
        lo1.replace(with: b, where: b .< lo1)
        lo2.replace(with: c, where: c .< lo2)
        lo3.replace(with: d, where: d .< lo3)
        hi0.replace(with: a, where: a .> hi0)
        hi1.replace(with: b, where: b .> hi1)
        hi2.replace(with: c, where: c .> hi2)
        hi3.replace(with: d, where: d .> hi3)
        nan .|= (a .!= a) .| (b .!= b) .| (c .!= c) .| (d .!= d)
        i += 4 * width
      }
      lo0.replace(with: lo1, where: lo1 .< lo0)
      lo2.replace(with: lo3, where: lo3 .< lo2)
      lo0.replace(with: lo2, where: lo2 .< lo0)
      hi0.replace(with: hi1, where: hi1 .> hi0)
      hi2.replace(with: hi3, where: hi3 .> hi2)
      hi0.replace(with: hi2, where: hi2 .> hi0)
      for k in 0..<width {
        if lo0[k] < lo { lo = lo0[k] }
        if hi0[k] > hi { hi = hi0[k] }
      }
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
