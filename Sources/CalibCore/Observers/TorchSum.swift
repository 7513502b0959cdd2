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
/// to a *single* output over its threads once it has 32,768 elements or more; that split
/// is ``TorchThreads``, whose pieces are each one `TorchSum`.
struct TorchSum {
  /// Terms in all (`n`).
  private(set) var count = 0
  /// `log2 L`: 3 for float32 (8 terms per load), 4 for 16-bit dtypes (16).
  private(set) var loadShift = 3
  /// Full loads (`V`); 0 when `n < L`.
  private(set) var loads = 0
  /// Loads that belong to rows (`4 · ⌊V / 4⌋`).
  private(set) var rowLoads = 0
  /// `p`: rows per level step are `2^p`.
  private(set) var levelPower = 4

  /// Terms consumed so far (of the whole run, not just this part).
  private(set) var position = 0
  /// Level 0's accumulators, column k at k.
  private var columns = InlineArray<4, Lanes>(repeating: Lanes())
  /// Levels 1…3, level j column k at `4 · (j - 1) + k`; valid only once ``cascaded``
  /// (a run of fewer than `2^p` rows never cascades), so that starting over, done once
  /// per parameter and step, does not clear them.
  private var upper = InlineArray<12, Lanes>(repeating: Lanes())
  private var cascaded = false
  /// Leftover loads (at most 3), added after the levels combine; the first
  /// `leftoverCount` are valid.
  private var leftover = InlineArray<3, Lanes>(repeating: Lanes())
  private var leftoverCount = 0
  /// The first half of a 16-bit load, until its second half arrives.
  private var half = Lanes()
  /// Terms waiting for a full vector of eight, when fed off the grid.
  private var staged = Lanes()
  /// The scalar tail sum `t` (vector path).
  private var tail: Float = 0
  /// The four scalar sums `a_k` when `n < L`.
  private var scalars = SIMD4<Float>()

  /// Terms per load, `L`.
  var loadWidth: Int { 1 &<< loadShift }

  /// Rows per independent block: `2^(3p)`; a part may start at any multiple of
  /// ``blockTerms``.
  var blockTerms: Int { 1 &<< (3 &* levelPower &+ 2 &+ loadShift) }

  /// - Parameters:
  ///   - count: the run's length `n`.
  ///   - dtype: the dtype of the summed tensor (float32 loads 8 terms, bf16 and f16 16).
  ///   - start: where this part of the run begins: 0, or a multiple of ``blockTerms``
  ///     within the rows.
  init(count: Int, dtype: FloatDType, startingAt start: Int = 0) {
    reset(count: count, dtype: dtype, startingAt: start)
  }

  /// Starts over, in place (cheaper than assigning a new sum: nothing is copied).
  @inline(__always)
  mutating func reset(count: Int, dtype: FloatDType, startingAt start: Int = 0) {
    self.count = count
    loadShift = dtype == .float32 ? 3 : 4
    loads = count &>> loadShift
    rowLoads = loads & ~3
    levelPower = Swift.max(4, Self.ceilLog2(loads &>> 2) / 4)
    position = start
    for k in 0..<4 { columns[k] = Lanes() }
    cascaded = false
    leftoverCount = 0
    tail = 0
    scalars = SIMD4()
    // Locals, so the condition's closure does not capture (copy) the whole sum.
    let (block, rowsEnd) = (blockTerms, rowLoads &<< loadShift)
    precondition(start == 0 || (start & (block &- 1) == 0 && start <= rowsEnd))
  }

  /// A bound on the additions any one term goes through on its way to the result of a
  /// run of `count` terms (n ≥ L): the load's two halves (1), level 0 over at most `2^p`
  /// rows, levels 1 and 2 over at most `2^p` flushes each, level 3 over at most
  /// `rows / 2^(3p) < 2^(p + 4)` (since `rows < 2^(4p + 4)`), the combine (3), the
  /// leftover loads (3), the columns (3), the lanes (8) and the scalar tail (L - 1):
  /// at most `19 · 2^p + 33`, rounded up to `20 · 2^p + 64`.
  static func maximumRoundings(count: Int, dtype: FloatDType) -> Int {
    let sum = TorchSum(count: count, dtype: dtype)
    return 20 &* (1 &<< sum.levelPower) &+ 64
  }

  /// ``maximumRoundings(count:dtype:)``, tighter for a run too short to cascade (fewer than
  /// `2^p` rows): its rows, the combine, leftovers, columns and lanes (3 + 3 + 3 + 8), a
  /// 16-bit load's halves (1) and the scalar tail, rounded up to rows + tail + 32; and for
  /// n < L, where four scalar sums take n / 4 terms each, n + 4.
  static func roundingDepth(count: Int, dtype: FloatDType) -> Int {
    let sum = TorchSum(count: count, dtype: dtype)
    if sum.loads == 0 { return count &+ 4 }
    let rows = sum.rowLoads &>> 2
    guard rows < 1 &<< sum.levelPower else { return maximumRoundings(count: count, dtype: dtype) }
    return rows &+ (count &- sum.tailStart) &+ 32
  }

  /// `⌈log2 x⌉`, 0 for x ≤ 1 (`c10::utils::CeilLog2`).
  static func ceilLog2(_ x: Int) -> Int {
    x <= 1 ? 0 : Int.bitWidth - (x - 1).leadingZeroBitCount
  }

  /// Where the scalar tail begins: `V · L` (0 on the scalar path).
  private var tailStart: Int { loads &<< loadShift }

  /// Adds the next eight terms. Precondition: ``position`` is a multiple of 8 and all
  /// eight lie before the tail, or all eight lie in it.
  @inline(__always)
  mutating func add(_ v: Lanes) {
    if position >= tailStart {
      for lane in 0..<8 { add(scalar: v[lane]) }
      return
    }
    if loadShift == 4 && position & 15 == 0 {
      half = v
      position &+= 8
      return
    }
    let load = loadShift == 4 ? half + v : v
    position &+= 8
    addLoad(load, index: (position &>> loadShift) &- 1)
  }

  /// Adds the next term, at any position.
  mutating func add(scalar x: Float) {
    if loads == 0 {
      addToScalarPath(x)
    } else if position >= tailStart {
      tail += x
      position += 1
    } else {
      staged[position & 7] = x
      position += 1
      if position & 7 == 0 {
        position -= 8
        add(staged)
      }
    }
  }

  private mutating func addToScalarPath(_ x: Float) {
    let k = position < count & ~3 ? position & 3 : 0
    scalars[k] += x
    position += 1
  }

  private mutating func addLoad(_ load: Lanes, index t: Int) {
    if t >= rowLoads {
      leftover[leftoverCount] = load
      leftoverCount += 1
      return
    }
    let column = t & 3
    columns[column] += load
    guard column == 3 else { return }
    let row = (t &>> 2) &+ 1
    if row & ((1 &<< levelPower) &- 1) == 0 { flush(afterRow: row) }
  }

  /// The cascade after `row` rows, a multiple of `2^p`: level j - 1 moves into level j
  /// for j = 1, 2, … while the row count's bits below level j's are zero.
  private mutating func flush(afterRow row: Int) {
    let mask = (1 << levelPower) - 1
    if !cascaded {
      for i in 0..<12 { upper[i] = Lanes() }
      cascaded = true
    }
    for k in 0..<4 {
      upper[k] += columns[k]
      columns[k] = Lanes()
    }
    for j in 2..<4 {
      if row & (mask << ((j - 1) * levelPower)) != 0 { return }
      for k in 0..<4 {
        upper[4 * (j - 1) + k] += upper[4 * (j - 2) + k]
        upper[4 * (j - 2) + k] = Lanes()
      }
    }
  }

  /// Adds the next `m` terms from `p` (``position`` a multiple of 8): whole rows straight
  /// into the four column accumulators, other full vectors through ``add(_:)``, a ragged
  /// end through ``add(scalar:)``. Same result as adding them one at a time, faster.
  mutating func add(contentsOf p: UnsafePointer<Float>, count m: Int) {
    let raw = UnsafeRawPointer(p)
    let rowTerms = 4 &<< loadShift
    let rowsEnd = rowLoads &<< loadShift
    var k = 0
    while k &+ 8 <= m && position & (rowTerms &- 1) != 0 {
      add(raw.loadUnaligned(fromByteOffset: k &* 4, as: Lanes.self))
      k &+= 8
    }
    if position + rowTerms <= rowsEnd && k + rowTerms <= m {
      var (c0, c1, c2, c3) = (columns[0], columns[1], columns[2], columns[3])
      let step = 1 << levelPower
      var row = position &>> (loadShift &+ 2)
      let rows = Swift.min(m &- k, rowsEnd &- position) &>> (loadShift &+ 2)
      for _ in 0..<rows {
        @inline(__always) func at(_ offset: Int) -> Lanes {
          raw.loadUnaligned(fromByteOffset: (k &+ offset) &* 4, as: Lanes.self)
        }
        if loadShift == 3 {
          c0 += at(0)
          c1 += at(8)
          c2 += at(16)
          c3 += at(24)
        } else {
          // A 16-term load is its two float32 halves added.
          c0 += at(0) + at(8)
          c1 += at(16) + at(24)
          c2 += at(32) + at(40)
          c3 += at(48) + at(56)
        }
        k &+= rowTerms
        row &+= 1
        if row & (step &- 1) == 0 {
          (columns[0], columns[1], columns[2], columns[3]) = (c0, c1, c2, c3)
          flush(afterRow: row)
          (c0, c1, c2, c3) = (columns[0], columns[1], columns[2], columns[3])
        }
      }
      (columns[0], columns[1], columns[2], columns[3]) = (c0, c1, c2, c3)
      position &+= rows &* rowTerms
    }
    while k &+ 8 <= m {
      add(raw.loadUnaligned(fromByteOffset: k &* 4, as: Lanes.self))
      k &+= 8
    }
    while k < m {
      add(scalar: p[k])
      k &+= 1
    }
  }

  /// The parts of one run, summed in parallel and given in order, as one sum: their
  /// level-3 accumulators are added in order into the last part.
  static func merging(_ parts: [TorchSum]) -> TorchSum {
    guard var last = parts.last else { preconditionFailure("no parts") }
    var top = InlineArray<4, Lanes>(repeating: Lanes())
    for part in parts {
      guard part.cascaded else { continue }
      for k in 0..<4 { top[k] += part.upper[8 + k] }
    }
    if !last.cascaded {
      for i in 0..<12 { last.upper[i] = Lanes() }
      last.cascaded = true
    }
    for k in 0..<4 { last.upper[8 + k] = top[k] }
    return last
  }

  /// The float32 sum, once all `n` terms are in.
  ///
  /// `mutating` only so that a call on a sum in place (`sums[i].total()`) passes its
  /// address: a non-mutating call may copy all ~700 bytes first. Nothing changes.
  mutating func total() -> Float {
    // Locals, so the message's closure does not capture (copy) the whole sum.
    let (added, expected) = (position, count)
    precondition(added == expected, "TorchSum: \(added) of \(expected) terms added")
    if loads == 0 {
      return ((scalars[0] + scalars[1]) + scalars[2]) + scalars[3]
    }
    var c = InlineArray<4, Lanes>(repeating: Lanes())
    for k in 0..<4 { c[k] = columns[k] }
    // Adding a level that never received anything adds +0, which changes nothing.
    if cascaded {
      for j in 0..<3 {
        for k in 0..<4 { c[k] += upper[4 * j + k] }
      }
    }
    for i in 0..<leftoverCount { c[0] += leftover[i] }
    for k in 1..<4 { c[0] += c[k] }
    var result = tail
    for lane in 0..<8 { result += c[0][lane] }
    return result
  }
}

extension TorchSum {
  /// `n / (4 · L)` when a sum of `n` terms of `dtype` is whole rows that never cascade:
  /// `n` a multiple of a row (four loads: 32 float32 terms, 64 bf16 or f16 terms) and
  /// under 16 rows (the smallest cascade step); otherwise `nil`.
  static func rowsWithoutCascade(_ n: Int, dtype: FloatDType) -> Int? {
    let rowTerms = dtype == .float32 ? 32 : 64
    return n > 0 && n % rowTerms == 0 && n < 16 * rowTerms ? n / rowTerms : nil
  }
}
