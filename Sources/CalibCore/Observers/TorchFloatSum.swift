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
/// innerSum(n)    vectorized_inner_sum: ``TorchSum``
/// ```
/// Valid where torch takes these paths: the reduced dimension contiguous (inner), or
/// the output columns contiguous (outer; each column is its own chain, so the lane
/// count does not matter there). A build whose sum kernel has another vector width
/// changes the inner sum's order.
enum TorchFloatSum {
  private static let levels = 4

  /// `multi_row_sum` for one lane: Σ `element(i)` for `i` in `0..<n`.
  static func cascade(_ n: Int, _ element: (Int) -> Float) -> Float {
    let power = Swift.max(4, TorchSum.ceilLog2(n) / levels)
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

  /// The sum of a contiguous row, as `sum(dim=-1)` reduces it (``TorchSum``).
  static func innerSum(_ x: UnsafeBufferPointer<Float>) -> Float {
    TorchSum.sum(
      count: x.count, vector: { k in Lanes(x[k..<(k + 8)]) }, scalar: { x[$0] })
  }

  /// Per column of a row-major `(rows, columns)` matrix given by `element(row, column)`,
  /// the sum down the rows, as `sum` over every dimension but the last reduces it.
  static func outerSums(rows: Int, columns: Int, _ element: (Int, Int) -> Float) -> [Float] {
    (0..<columns).map { c in cascade(rows) { element($0, c) } }
  }
}
