/// torch's CPU float32 `sum` in its exact operation order (`cascade_sum` in
/// `aten/src/ATen/native/cpu/SumKernel.cpp`, torch 2.13.0+cpu on x86-64: 8 float lanes,
/// measured on an AVX512 machine against 200 random rows), for the two layouts
/// imatrix_mse sums.
///
/// ```
/// cascade(n)     multi_row_sum for one lane: four float32 accumulators; every
///                2^p values (p = max(4, ceil_log2(n) / 4)) level j adds level j-1 into
///                itself and clears it, carrying on while the index is a multiple of
///                2^(j·p); the tail goes to level 0; then level 0 += level 1, 2, 3
/// outerSum       per output column, cascade(n) down the rows (vectorized_outer_sum)
/// innerSum(n)    n ≥ 8: per lane l, four cascades over vectors (ILP 4), added in order;
///                then 0 + the scalar tail + the 8 lanes in order (vectorized_inner_sum);
///                n < 8: row_sum of scalars (ILP 4)
/// ```
/// Valid where torch takes these paths: the reduced dimension contiguous (inner), or
/// the output columns contiguous (outer; each column is its own chain, so the lane
/// count does not matter there). A build whose sum kernel has another vector width
/// changes the inner sum's order.
enum TorchFloatSum {
  /// `Vectorized<float>::size()` of the sum kernel torch runs.
  static let lanes = 8
  private static let levels = 4

  /// `multi_row_sum` for one lane: Σ `element(i)` for `i` in `0..<n`.
  static func cascade(_ n: Int, _ element: (Int) -> Float) -> Float {
    let power = Swift.max(4, ceilLog2(n) / levels)
    let step = 1 << power
    let mask = step - 1
    var acc: (Float, Float, Float, Float) = (0, 0, 0, 0)
    var i = 0
    while i + step <= n {
      for _ in 0..<step {
        acc.0 += element(i)
        i += 1
      }
      acc.1 += acc.0
      acc.0 = 0
      if i & (mask << power) != 0 { continue }
      acc.2 += acc.1
      acc.1 = 0
      if i & (mask << (2 * power)) != 0 { continue }
      acc.3 += acc.2
      acc.2 = 0
    }
    while i < n {
      acc.0 += element(i)
      i += 1
    }
    acc.0 += acc.1
    acc.0 += acc.2
    acc.0 += acc.3
    return acc.0
  }

  /// c10's `CeilLog2`: 1 up to 2, else the bit length of `x - 1`.
  static func ceilLog2(_ x: Int) -> Int {
    x <= 2 ? 1 : Int.bitWidth - (x - 1).leadingZeroBitCount
  }

  /// `row_sum` with ILP 4 over `n` elements: four cascades of `n / 4`, the tail into the
  /// first, then the first += the others in order.
  static func rowSum(_ n: Int, _ element: (Int) -> Float) -> Float {
    let rows = n / 4
    var partial = (0..<4).map { k in cascade(rows) { element($0 * 4 + k) } }
    for i in (rows * 4)..<n { partial[0] += element(i) }
    for k in 1..<4 { partial[0] += partial[k] }
    return partial[0]
  }

  /// The sum of a contiguous row, as `sum(dim=-1)` reduces it.
  static func innerSum(_ x: UnsafeBufferPointer<Float>) -> Float {
    let n = x.count
    if n < lanes { return rowSum(n) { x[$0] } }
    let vectors = n / lanes
    var total: Float = 0
    for k in (vectors * lanes)..<n { total += x[k] }
    for lane in 0..<lanes {
      // row_sum over vectors; each lane is its own chain.
      total += rowSum(vectors) { x[$0 * lanes + lane] }
    }
    return total
  }

  /// Per column of a row-major `(rows, columns)` matrix given by `element(row, column)`,
  /// the sum down the rows, as `sum` over every dimension but the last reduces it.
  static func outerSums(rows: Int, columns: Int, _ element: (Int, Int) -> Float) -> [Float] {
    (0..<columns).map { c in cascade(rows) { element($0, c) } }
  }
}
