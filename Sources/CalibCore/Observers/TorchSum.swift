/// torch's CPU `sum` over one contiguous run of `n` terms, added in exactly the order
/// torch adds them, so that the float32 result is bit for bit torch's.
///
/// torch (`aten/src/ATen/native/cpu/SumKernel.cpp`, `cascade_sum`) reduces a contiguous
/// inner dimension with 256-bit vectors — also on AVX-512 machines, where `sum` keeps its
/// AVX2 kernel. A *load* is `L` consecutive terms: 8 float32 terms, or 16 bf16/f16 terms
/// whose two 8-lane float32 halves are added (`first + second`). With `V = n / L` loads:
/// ```
/// rows      loads 4r…4r+3 of row r < V / 4 go to accumulators c0…c3 (8 lanes each),
///           level 0; after every `2^p` rows (p = max(4, ⌈log2(V/4)⌉ / 4)) level j
///           flushes into level j+1 (up to level 3) while the row count's bits allow
/// combine   c_k := ((level0 + level1) + level2) + level3, per accumulator
/// leftover  loads 4·⌊V/4⌋ … V-1 are added to c0, in order; then c0 += c1, c2, c3
/// tail      t := 0; t += x for each of the last n - V·L terms, in order
/// result    t += c0[lane] for lane 0…7, in order
/// ```
/// When `n < L` the terms are scalars: `a_k` sums terms 4r + k for r < n / 4, the last
/// n % 4 terms go to `a_0`, and the result is `((a_0 + a_1) + a_2) + a_3`.
///
/// Loads are fed in order, eight terms at a time (``add(_:)``); terms off that grid (a
/// ragged end, or a run that does not start on it) go through ``add(scalar:)``. Blocks of
/// `2^(3p)` rows are independent until they reach level 3, which is what lets a long run
/// be summed in parallel: see ``init(count:dtype:startingAt:)`` and ``merging(_:)``.
///
/// Scope: one output reduced from one contiguous run in one call. torch splits a reduction
/// to a *single* output over its threads once it has 32,768 elements or more (each thread's
/// partial rounded to the dtype), so there the result depends on torch's thread count;
/// this type gives the one-thread order.
struct TorchSum {
  /// Terms in all (`n`).
  let count: Int
  /// Terms per load (`L`): 8 for float32, 16 for 16-bit dtypes.
  let loadWidth: Int
  /// Full loads (`V`); 0 when `n < L`.
  let loads: Int
  /// Loads that belong to rows (`4 · ⌊V / 4⌋`).
  let rowLoads: Int
  /// `p`: rows per level step are `2^p`.
  let levelPower: Int

  /// Terms consumed so far (of the whole run, not just this part).
  private(set) var position: Int
  /// Level accumulators: level j, column k at `4 · j + k`.
  private var levels = InlineArray<16, Lanes>(repeating: Lanes())
  /// Leftover loads (at most 3), added after the levels combine.
  private var leftover = InlineArray<3, Lanes>(repeating: Lanes())
  private var leftoverCount = 0
  /// The first half of a 16-bit load, until its second half arrives.
  private var half = Lanes()
  /// Terms waiting for a full vector of eight, when fed off the grid.
  private var staged = Lanes()
  /// The scalar tail sum `t` (vector path) — or, when `n < L`, the four scalar sums.
  private var tail: Float = 0
  private var scalars = SIMD4<Float>()

  /// Rows per independent block: `2^(3p)`; a part may start at any multiple of
  /// ``blockTerms``.
  var blockTerms: Int { (1 << (3 * levelPower)) * 4 * loadWidth }

  /// - Parameters:
  ///   - count: the run's length `n`.
  ///   - dtype: the dtype of the summed tensor (float32 loads 8 terms, bf16 and f16 16).
  ///   - start: where this part of the run begins: 0, or a multiple of ``blockTerms``
  ///     within the rows.
  init(count: Int, dtype: FloatDType, startingAt start: Int = 0) {
    self.count = count
    loadWidth = dtype == .float32 ? 8 : 16
    loads = count >= loadWidth ? count / loadWidth : 0
    rowLoads = loads / 4 * 4
    levelPower = Swift.max(4, Self.ceilLog2(loads / 4) / 4)
    position = start
    precondition(start == 0 || (start % blockTerms == 0 && start <= rowLoads * loadWidth))
  }

  /// `⌈log2 x⌉`, 0 for x ≤ 1 (`c10::utils::CeilLog2`).
  static func ceilLog2(_ x: Int) -> Int {
    x <= 1 ? 0 : Int.bitWidth - (x - 1).leadingZeroBitCount
  }

  /// Where the scalar tail begins: `V · L` (0 on the scalar path).
  private var tailStart: Int { loads * loadWidth }

  /// Adds the next eight terms. Precondition: ``position`` is a multiple of 8 and all
  /// eight lie before the tail, or all eight lie in it.
  @inline(__always)
  mutating func add(_ v: Lanes) {
    if position >= tailStart {
      for lane in 0..<8 { add(scalar: v[lane]) }
      return
    }
    if loadWidth == 16 && position % 16 == 0 {
      half = v
      position += 8
      return
    }
    let load = loadWidth == 16 ? half + v : v
    position += 8
    addLoad(load, index: position / loadWidth - 1)
  }

  /// Adds the next term, at any position.
  mutating func add(scalar x: Float) {
    if loads == 0 {
      addToScalarPath(x)
    } else if position >= tailStart {
      tail += x
      position += 1
    } else {
      staged[position % 8] = x
      position += 1
      if position % 8 == 0 {
        position -= 8
        add(staged)
      }
    }
  }

  private mutating func addToScalarPath(_ x: Float) {
    let rowsEnd = count / 4 * 4
    let k = position < rowsEnd ? position % 4 : 0
    scalars[k] += x
    position += 1
  }

  private mutating func addLoad(_ load: Lanes, index t: Int) {
    if t >= rowLoads {
      leftover[leftoverCount] = load
      leftoverCount += 1
      return
    }
    let column = t % 4
    levels[column] += load
    guard column == 3 else { return }
    let row = t / 4 + 1
    let step = 1 << levelPower
    guard row % step == 0 else { return }
    for j in 1..<4 {
      for k in 0..<4 {
        levels[4 * j + k] += levels[4 * j - 4 + k]
        levels[4 * j - 4 + k] = Lanes()
      }
      let mask = (step - 1) << (j * levelPower)
      if row & mask != 0 { break }
    }
  }

  /// The parts of one run, summed in parallel and given in order, as one sum: their
  /// level-3 accumulators are added in order into the last part.
  static func merging(_ parts: [TorchSum]) -> TorchSum {
    guard var last = parts.last else { preconditionFailure("no parts") }
    var top = InlineArray<4, Lanes>(repeating: Lanes())
    for part in parts {
      for k in 0..<4 { top[k] += part.levels[12 + k] }
    }
    for k in 0..<4 { last.levels[12 + k] = top[k] }
    return last
  }

  /// The float32 sum, once all `n` terms are in.
  func total() -> Float {
    precondition(position == count, "TorchSum: \(position) of \(count) terms added")
    if loads == 0 {
      return ((scalars[0] + scalars[1]) + scalars[2]) + scalars[3]
    }
    var c = InlineArray<4, Lanes>(repeating: Lanes())
    for k in 0..<4 { c[k] = levels[k] }
    for j in 1..<4 {
      for k in 0..<4 { c[k] += levels[4 * j + k] }
    }
    for i in 0..<leftoverCount { c[0] += leftover[i] }
    for k in 1..<4 { c[0] += c[k] }
    var result = tail
    for lane in 0..<8 { result += c[0][lane] }
    return result
  }
}
