/// torch's float32 `sum` (and `mean` = sum / n) of one contiguous row on CPU, in its
/// summation order, so that a loss torch reduces can be reproduced bit for bit.
///
/// torch 2.13's `cascade_sum` (`aten/src/ATen/native/cpu/SumKernel.cpp`) reads the row as
/// vectors of 8 floats (the AVX2 `Vectorized<float>` — the width measured against torch
/// 2.13 on an AVX-512 machine, whose sum kernel runs at that width), then:
/// ```
/// row_sum(v[0..<k]):   four interleaved partial sums p0…p3 (element 4r + c goes to pc),
///                      each a multi-level cascade: level 0 adds 2^L elements, then is
///                      added into level 1 and cleared; level j passes on into j + 1 only
///                      when the count of rows added is a multiple of 2^(L·j)  (4 levels,
///                      L = max(4, ceil(log2 k) / 4)); the leftover rows go into level 0,
///                      the levels are folded into level 0, then  p0 + p1 + p2 + p3,
///                      and the k mod 4 vectors past the last full row into p0 first.
/// sum(x[0..<n]):       s := row_sum of the n / 8 vectors (lanewise);
///                      f := 0 + x[8⌊n/8⌋] + … + x[n-1];  then f += s[0], …, s[7].
///                      A row shorter than 8 is row_sum of its scalars.
/// ```
/// A row longer than torch's grain size (32,768) is split between threads by torch; such
/// rows are not reproduced by this order.
enum TorchCascadeSum {
  /// Lanes of torch's `Vectorized<float>` in the sum kernel.
  static let lanes = 8

  /// The float32 sum of `x` in torch's order.
  static func sum(_ x: UnsafeBufferPointer<Float>) -> Float {
    let base = UnsafeRawPointer(x.baseAddress ?? UnsafePointer(bitPattern: 8)!)
    return sum(count: x.count, vector: { base.loadUnaligned(fromByteOffset: $0 &* 32, as: SIMD8<Float>.self) }) { x[$0] }
  }

  /// The float32 sum, in torch's order, of `count` values given as vector `i` (values
  /// 8i..<8i+8) and as single value `k`: each value is asked for once, so a caller can
  /// compute the values while they are summed.
  @inline(__always)
  static func sum(count n: Int, vector: (Int) -> SIMD8<Float>, scalar: (Int) -> Float) -> Float {
    if n < lanes {
      return rowSum(count: n, zero: 0, +, scalar)
    }
    let vectors = n / lanes
    let s = rowSum(count: vectors, zero: .zero, +, vector)
    var f: Float = 0
    for k in vectors * lanes..<n { f += scalar(k) }
    for lane in 0..<lanes { f += s[lane] }
    return f
  }

  /// torch's `row_sum`: four interleaved cascades over `count` elements, then folded.
  @inline(__always)
  static func rowSum<V>(count: Int, zero: V, _ add: (V, V) -> V, _ load: (Int) -> V) -> V {
    let rows = count / 4
    var p = cascade(rows: rows, zero: zero, add) { r in (load(4 &* r), load(4 &* r &+ 1), load(4 &* r &+ 2), load(4 &* r &+ 3)) }
    for i in rows * 4..<count { p.0 = add(p.0, load(i)) }
    return add(add(add(p.0, p.1), p.2), p.3)
  }

  /// torch's `multi_row_sum` for four columns: the four-level cascade over `rows` rows.
  @inline(__always)
  static func cascade<V>(rows: Int, zero: V, _ add: (V, V) -> V, _ load: (Int) -> (V, V, V, V)) -> (V, V, V, V) {
    let power = Swift.max(4, ceilLog2(rows) / 4)
    let step = 1 << power
    let mask = step - 1
    return withUnsafeTemporaryAllocation(of: (V, V, V, V).self, capacity: 4) { acc in
      for j in 0..<4 { acc.initializeElement(at: j, to: (zero, zero, zero, zero)) }
      @inline(__always) func accumulate(_ j: Int, _ v: (V, V, V, V)) {
        acc[j] = (add(acc[j].0, v.0), add(acc[j].1, v.1), add(acc[j].2, v.2), add(acc[j].3, v.3))
      }
      var i = 0
      while i + step <= rows {
        for _ in 0..<step {
          accumulate(0, load(i))
          i += 1
        }
        for j in 1..<4 {
          accumulate(j, acc[j - 1])
          acc[j - 1] = (zero, zero, zero, zero)
          if i & (mask << (j * power)) != 0 { break }
        }
      }
      while i < rows {
        accumulate(0, load(i))
        i += 1
      }
      for j in 1..<4 { accumulate(0, acc[j]) }
      return acc[0]
    }
  }

  /// c10's `CeilLog2`: 1 for x ≤ 2, else ⌈log2 x⌉.
  static func ceilLog2(_ x: Int) -> Int {
    x <= 2 ? 1 : Int.bitWidth - (x - 1).leadingZeroBitCount
  }
}
