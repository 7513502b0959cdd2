import CalibKernels

/// Per-parameter minimum and maximum over a ``GroupLayout`` (`torch.amin`/`amax` over
/// dims (0, -1)).
///
/// NaN policy: a parameter whose elements include a NaN gets NaN for both, as torch
/// does; ±∞ takes part as an ordinary value. Callers that must refuse non-finite input
/// check the result (``containsNonFinite(_:_:)``) and only then count the culprits, so the
/// clean path costs one pass.
///
/// Precision: exact (min and max do not round). The order of evaluation does not matter,
/// so splitting the work between threads cannot change a result.
/// Complexity: O(n), one pass, SIMD over each contiguous run; large inputs are split into
/// fixed chunks (or blocks of parameters) that run in parallel, each writing its own
/// result slots.
///
/// Fast path: the common layouts give every parameter one contiguous run at a constant
/// stride (tensor, channel, group, tensor_group weights). Those runs are reduced in a
/// tight loop that ignores NaN and instead sums the elements on the side; a non-finite
/// sum (a NaN, an infinity, or an overflow) makes the chunk redo its parameters with the
/// exact NaN-tracking loop, so the fast path never decides a NaN case itself.
public enum RangeReduction {
  /// Elements per parallel work item (1 MiB of float32).
  static let chunkElements = 1 << 18

  /// The minimum and maximum of each parameter's elements. A zero-padded BLOCK edge
  /// includes 0.
  ///
  /// - Parameter parallel: whether the work may spread over all cores (results are the
  ///   same either way).
  public static func minMax(_ values: [Float], layout: GroupLayout, parallel: Bool = true) -> ([Float], [Float]) {
    minMax(values, layout: layout, parallel: parallel, hooks: ItemHooks())
  }

  /// ``minMax(_:layout:parallel:)``, with strided runs' work items also doing `hooks`
  /// (``RangeOutput/finish(item:_:known:)``).
  static func minMax(
    _ values: [Float], layout: GroupLayout, parallel: Bool, hooks: ItemHooks
  ) -> ([Float], [Float]) {
    let count = layout.count
    if count == 0 || values.isEmpty {
      return ([Float](repeating: .infinity, count: count), [Float](repeating: -.infinity, count: count))
    }
    return filling(count, hooks: hooks) { out in
      values.withUnsafeBufferPointer { buffer in
        // Non-nil: values is not empty.
        let source = SharedPointer(buffer.baseAddress!)
        if layout.isStridedRuns {
          let stride = layout.outerStride
          let length = layout.runLength
          // Every run must lie inside the value (the layout was built from its shape).
          precondition((count - 1) * stride + length <= buffer.count, "layout exceeds the value")
          if count == 1 {
            (out.mins[0], out.maxs[0]) = wholeRun(source, length, parallel: parallel)
          } else {
            stridedRuns(source, count: count, stride: stride, length: length, parallel: parallel, into: out)
          }
        } else {
          anyLayout(source, layout: layout, parallel: parallel, into: out)
        }
      }
    }
  }

  /// `count` minima and maxima, every slot written by `body`. The slots are left
  /// uninitialized until then, so the pages are first touched by the parallel workers
  /// rather than by a serial fill.
  static func filling(
    _ count: Int, hooks: ItemHooks = ItemHooks(), _ body: (RangeOutput) -> Void
  ) -> ([Float], [Float]) {
    var maxs: [Float] = []
    let mins = [Float](unsafeUninitializedCapacity: count) { lo, lowCount in
      maxs = [Float](unsafeUninitializedCapacity: count) { hi, highCount in
        // Non-nil: callers pass count > 0.
        body(RangeOutput(mins: SharedPointer(lo.baseAddress!), maxs: SharedPointer(hi.baseAddress!), hooks: hooks))
        highCount = count
      }
      lowCount = count
    }
    return (mins, maxs)
  }

  /// The minimum and maximum of all elements (NaN if any is NaN); (+∞, -∞) when empty.
  public static func minMax(_ values: [Float], parallel: Bool = true) -> (Float, Float) {
    values.withUnsafeBufferPointer { buffer in
      guard let base = buffer.baseAddress else { return (.infinity, -.infinity) }
      return wholeRun(SharedPointer(base), buffer.count, parallel: parallel)
    }
  }

  /// Whether a reduced range shows a NaN or an infinity in its source.
  public static func containsNonFinite(_ mins: [Float], _ maxs: [Float]) -> Bool {
    !(allFinite(mins) && allFinite(maxs))
  }

  /// Whether every element is finite: `x - x` is 0 for finite `x` and NaN otherwise, and
  /// a NaN survives any sum.
  static func allFinite(_ values: [Float]) -> Bool {
    values.withUnsafeBufferPointer { buffer in
      guard let p = buffer.baseAddress else { return true }
      return allFinite(p, buffer.count)
    }
  }

  /// Whether `p[0..<n]` are all finite (see ``allFinite(_:)-([Float])``).
  static func allFinite(_ p: UnsafePointer<Float>, _ n: Int) -> Bool {
    let raw = UnsafeRawPointer(p)
    var acc = SIMD8<Float>()
    var i = 0
    while i + 8 <= n {
      let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
      acc += v - v
      i += 8
    }
    var tail: Float = 0
    while i < n {
      tail += p[i] - p[i]
      i += 1
    }
    return (acc.sum() + tail) == 0
  }

  // MARK: - Layout shapes

  /// One run of `n` elements: split into fixed chunks reduced in parallel, then combined
  /// (NaN wins; otherwise min of mins, max of maxes — exact in any order).
  static func wholeRun(_ source: SharedPointer<Float>, _ n: Int, parallel: Bool) -> (Float, Float) {
    chunked(n, parallel: parallel) { start, count in exactRun(source.readOnly + start, count) }
  }

  /// `n` elements in fixed chunks of ``chunkElements``, each reduced by `reduce(start,
  /// count)` (in parallel), then combined: NaN wins; otherwise min of mins, max of maxes,
  /// in chunk order.
  static func chunked(_ n: Int, parallel: Bool, _ reduce: @Sendable (Int, Int) -> (Float, Float)) -> (Float, Float) {
    let chunk = chunkElements
    let chunks = (n + chunk - 1) / chunk
    if chunks <= 1 { return reduce(0, n) }
    var partial = [Float](repeating: 0, count: 2 * chunks)
    partial.withUnsafeMutableBufferPointer { buffer in
      let slots = SharedPointer(buffer.baseAddress!)  // non-nil: chunks > 1
      ForkJoin.forEach(chunks, parallel: parallel) { c in
        let start = c * chunk
        (slots[2 * c], slots[2 * c + 1]) = reduce(start, Swift.min(chunk, n - start))
      }
    }
    return merged(partial)
  }

  /// Partial ranges, `(low, high)` pairs side by side, combined in order: NaN wins;
  /// otherwise the min of the lows and the max of the highs; (+∞, -∞) when empty.
  static func merged(_ partial: [Float]) -> (Float, Float) {
    var lo = Float.infinity
    var hi = -Float.infinity
    for c in 0..<(partial.count / 2) {
      let (l, h) = (partial[2 * c], partial[2 * c + 1])
      if l.isNaN || h.isNaN { return (.nan, .nan) }
      if l < lo { lo = l }
      if h > hi { hi = h }
    }
    return (lo, hi)
  }

  /// `count` parameters, parameter `q` owning `length` elements from `q · stride`: blocks
  /// of parameters run in parallel, each written to its own slots.
  static func stridedRuns(
    _ source: SharedPointer<Float>, count: Int, stride: Int, length: Int, parallel: Bool,
    into out: RangeOutput
  ) {
    let perItem = parametersPerItem(length: length)
    ForkJoin.forEach(itemCount(parameters: count, length: length), parallel: parallel) { item in
      let first = item * perItem
      let parameters = first..<Swift.min(count, first + perItem)
      let range = stridedItem(source.readOnly, parameters, stride: stride, length: length, into: out)
      out.finish(item: item, parameters, known: range)
    }
  }

  /// Parameters per work item of strided runs of `length` elements (float32 or bf16 bits
  /// alike, so that a bf16 item falling back to the float kernel decides as it does).
  static func parametersPerItem(length: Int) -> Int {
    Swift.max(1, chunkElements / Swift.max(length, 1))
  }

  /// Work items of strided runs: `count` parameters of `length` elements each.
  static func itemCount(parameters count: Int, length: Int) -> Int {
    let perItem = parametersPerItem(length: length)
    return (count + perItem - 1) / perItem
  }

  /// One work item of ``stridedRuns(_:count:stride:length:parallel:into:)``: the fast
  /// loop for its run length, redone exactly when some element is not finite.
  ///
  /// - Returns: the item's lowest minimum and highest maximum where its loop found them
  ///   on the way (runs of 16, all finite); `nil` otherwise.
  @inline(__always) @discardableResult
  static func stridedItem(
    _ p: UnsafePointer<Float>, _ parameters: Range<Int>, stride: Int, length: Int, into out: RangeOutput
  ) -> (Float, Float)? {
    let (first, end) = (parameters.lowerBound, parameters.upperBound)
    switch length {
    case 16:
      if let range = runsOf16(p, first, end, stride, out) { return range }
    case 32...:
      if longRuns(p, first, end, stride, length, out) { return nil }
    default:
      break
    }
    for q in first..<end {
      (out.mins[q], out.maxs[q]) = exactRun(p + q * stride, length)
    }
    return nil
  }

  /// Layouts with several runs per parameter or ragged BLOCK edges: each parameter walks
  /// its runs with the exact loop; blocks of parameters run in parallel.
  static func anyLayout(
    _ source: SharedPointer<Float>, layout: GroupLayout, parallel: Bool, into out: RangeOutput
  ) {
    let count = layout.count
    let perParameter = Swift.max(1, layout.runCount * layout.runLength)
    let perItem = Swift.max(1, chunkElements / perParameter)
    let items = (count + perItem - 1) / perItem
    ForkJoin.forEach(items, parallel: parallel) { item in
      let p = source.readOnly
      for q in (item * perItem)..<Swift.min(count, (item + 1) * perItem) {
        var lo = Float.infinity
        var hi = -Float.infinity
        var sawNaN = false
        let padded = layout.forEachRun(of: q) { start, length in
          runMinMax(p + start, length, &lo, &hi, &sawNaN)
        }
        if padded {
          lo = Swift.min(lo, 0)
          hi = Swift.max(hi, 0)
        }
        if sawNaN {
          lo = .nan
          hi = .nan
        }
        out.mins[q] = lo
        out.maxs[q] = hi
      }
    }
  }

  // MARK: - Kernels

  typealias V = SIMD8<Float>

  @inline(__always) static func load(_ p: UnsafePointer<Float>, _ i: Int) -> V {
    // Unaligned loads: runs start anywhere in the buffer.
    UnsafeRawPointer(p).loadUnaligned(fromByteOffset: i &* 4, as: V.self)
  }

  // Written per lane: the vectorizer turns these selects into minps and maxps, while
  // `replacing(with:where:)` becomes compare-and-blend.

  /// Lane-wise `a < b ? a : b` (minps); a NaN in `a` yields `b`.
  @inline(__always) static func lower(_ a: V, _ b: V) -> V {
    var out = V()
    for k in 0..<V.scalarCount { out[k] = a[k] < b[k] ? a[k] : b[k] }
    return out
  }

  /// Lane-wise `a > b ? a : b` (maxps); a NaN in `a` yields `b`.
  @inline(__always) static func upper(_ a: V, _ b: V) -> V {
    var out = V()
    for k in 0..<V.scalarCount { out[k] = a[k] > b[k] ? a[k] : b[k] }
    return out
  }

  @inline(__always) static func lower4(_ a: SIMD4<Float>, _ b: SIMD4<Float>) -> SIMD4<Float> {
    var out = SIMD4<Float>()
    for k in 0..<4 { out[k] = a[k] < b[k] ? a[k] : b[k] }
    return out
  }

  @inline(__always) static func upper4(_ a: SIMD4<Float>, _ b: SIMD4<Float>) -> SIMD4<Float> {
    var out = SIMD4<Float>()
    for k in 0..<4 { out[k] = a[k] > b[k] ? a[k] : b[k] }
    return out
  }

  /// The smallest lane of a NaN-free vector.
  @inline(__always) static func lowest(_ v: V) -> Float {
    let h = lower4(v.lowHalf, v.highHalf)
    let q = lower4(h, SIMD4(h.z, h.w, h.z, h.w))
    return q.y < q.x ? q.y : q.x
  }

  /// The largest lane of a NaN-free vector.
  @inline(__always) static func highest(_ v: V) -> Float {
    let h = upper4(v.lowHalf, v.highHalf)
    let q = upper4(h, SIMD4(h.z, h.w, h.z, h.w))
    return q.y > q.x ? q.y : q.x
  }

  /// The exact reduction of one run, NaN included: the fast loop, redone with NaN
  /// tracking when its side sum is not finite.
  static func exactRun(_ p: UnsafePointer<Float>, _ n: Int) -> (Float, Float) {
    if n >= 32 {
      let (lo, hi, sum) = fastRun(p, n)
      if sum.isFinite { return (lo, hi) }
    }
    var lo = Float.infinity
    var hi = -Float.infinity
    var sawNaN = false
    runMinMax(p, n, &lo, &hi, &sawNaN)
    return sawNaN ? (.nan, .nan) : (lo, hi)
  }

  /// Min, max and sum of a run of at least 32 elements; NaN elements are skipped by the
  /// min and max but poison the sum.
  ///
  /// With AVX2 or AVX-512 (`width` 8 or 16), `calib_range_run` performs these same
  /// operations on one register per `SIMD8` (which the baseline build splits in two).
  @inline(__always)
  static func fastRun(_ p: UnsafePointer<Float>, _ n: Int, width: Int = WideKernels.width) -> (Float, Float, Float) {
    if width >= 8 {
      var (low, high, sum): (Float, Float, V) = (0, 0, V())
      withUnsafeMutableBytes(of: &sum) { lanes in
        // Non-nil: 32 bytes.
        calib_range_run(p, n, &low, &high, lanes.baseAddress!.assumingMemoryBound(to: Float.self))
      }
      return (low, high, sum.sum())
    }
    var lo = (load(p, 0), load(p, 8), load(p, 16), load(p, 24))
    var hi = lo
    var sum = SideSum()
    sum.absorb(lo.0, lo.1, lo.2, lo.3)
    var i = fourWay(p, n, from: 32, &lo, &hi, &sum)
    while i &+ 8 <= n {
      let a = load(p, i)
      lo.0 = lower(a, lo.0)
      hi.0 = upper(a, hi.0)
      sum.s0 += a
      i &+= 8
    }
    if i < n {
      // The last 8 elements overlap ones already seen, which min and max tolerate; the
      // sum only needs to stay non-finite exactly when some element is.
      let a = load(p, n &- 8)
      lo.1 = lower(a, lo.1)
      hi.1 = upper(a, hi.1)
      sum.s1 += a - a
    }
    return (lowest(lower4Way(lo)), highest(upper4Way(hi)), (sum.s0 + sum.s1).sum())
  }

  /// What ``fourWay(_:_:from:_:_:_:)`` tracks besides the minimum and maximum.
  protocol Witness {
    mutating func absorb(_ a: V, _ b: V, _ c: V, _ d: V)
  }

  /// A side sum that is non-finite exactly when some element is (or the sum overflows):
  /// two adds per 32 elements, cheaper than tracking NaN lanes.
  struct SideSum: Witness {
    var s0 = V()
    var s1 = V()
    @inline(__always) mutating func absorb(_ a: V, _ b: V, _ c: V, _ d: V) {
      s0 += a + c
      s1 += b + d
    }
  }

  /// The lanes that saw a NaN (which never wins a comparison, so min and max skip it).
  struct NaNLanes: Witness {
    var mask = SIMDMask<V.MaskStorage>(repeating: false)
    @inline(__always) mutating func absorb(_ a: V, _ b: V, _ c: V, _ d: V) {
      mask .|= (a .!= a) .| (b .!= b) .| (c .!= c) .| (d .!= d)
    }
  }

  /// The one four-accumulator loop: folds 32 elements at a time from `start` into four
  /// SIMD8 minima and maxima (independent dependency chains; minps/maxps via
  /// ``lower(_:_:)`` and ``upper(_:_:)`` — the generic `pointwiseMin` does not vectorize)
  /// and into `witness`. Returns the index it stopped at (fewer than 32 elements left).
  @inline(__always)
  static func fourWay<W: Witness>(
    _ p: UnsafePointer<Float>, _ n: Int, from start: Int, _ lo: inout (V, V, V, V),
    _ hi: inout (V, V, V, V), _ witness: inout W
  ) -> Int {
    var i = start
    while i &+ 32 <= n {
      let a = load(p, i)
      let b = load(p, i &+ 8)
      let c = load(p, i &+ 16)
      let d = load(p, i &+ 24)
      lo.0 = lower(a, lo.0)
      lo.1 = lower(b, lo.1)
      lo.2 = lower(c, lo.2)
      lo.3 = lower(d, lo.3)
      hi.0 = upper(a, hi.0)
      hi.1 = upper(b, hi.1)
      hi.2 = upper(c, hi.2)
      hi.3 = upper(d, hi.3)
      witness.absorb(a, b, c, d)
      i &+= 32
    }
    return i
  }

  /// The lane-wise minimum of four accumulators.
  @inline(__always) static func lower4Way(_ v: (V, V, V, V)) -> V {
    lower(lower(v.3, v.2), lower(v.1, v.0))
  }

  /// The lane-wise maximum of four accumulators.
  @inline(__always) static func upper4Way(_ v: (V, V, V, V)) -> V {
    upper(upper(v.3, v.2), upper(v.1, v.0))
  }

  /// Parameters `first..<end` with 16 elements each at `stride`, returning their lowest
  /// minimum and highest maximum (a zero's sign there is whichever came first); `nil`
  /// when some element is not finite (the caller then redoes them exactly).
  ///
  /// With AVX-512 (`width` 16), sixteen runs at a time go to `calib_range_runs16`, which
  /// reduces each with this loop's tree and operand order and adds the same witness sum.
  @inline(__always)
  static func runsOf16(
    _ p: UnsafePointer<Float>, _ first: Int, _ end: Int, _ stride: Int, _ out: RangeOutput,
    width: Int = WideKernels.width
  ) -> (Float, Float)? {
    var sum = V()
    var q = first
    var (low, high) = (Float.infinity, -Float.infinity)
    if width == 16 && end &- first >= 16 {
      let wide = (end &- first) & ~15
      withUnsafeMutableBytes(of: &sum) { witness in
        // Non-nil: 32 bytes.
        let lanes = witness.baseAddress!.assumingMemoryBound(to: Float.self)
        calib_range_runs16(
          p + first &* stride, wide, stride, out.mins.base + first, out.maxs.base + first, lanes, &low, &high)
      }
      q &+= wide
    }
    while q < end {
      let a = load(p, q &* stride)
      let b = load(p, q &* stride &+ 8)
      out.mins[q] = lowest(lower(a, b))
      out.maxs[q] = highest(upper(a, b))
      (low, high) = (Swift.min(low, out.mins[q]), Swift.max(high, out.maxs[q]))
      sum += a + b
      q &+= 1
    }
    return sum.sum().isFinite ? (low, high) : nil
  }

  /// Parameters `first..<end` with `length` ≥ 32 elements each at `stride`; false when
  /// some element is not finite.
  @inline(__always)
  static func longRuns(
    _ p: UnsafePointer<Float>, _ first: Int, _ end: Int, _ stride: Int, _ length: Int,
    _ out: RangeOutput
  ) -> Bool {
    var clean = true
    for q in first..<end {
      let (lo, hi, sum) = fastRun(p + q &* stride, length)
      out.mins[q] = lo
      out.maxs[q] = hi
      if !sum.isFinite { clean = false }
    }
    return clean
  }

  /// Folds one contiguous run into `lo`/`hi`, recording whether a NaN was seen: the
  /// four-way loop with NaN tracking (``fourWay(_:_:from:_:_:_:)``), then the tail one by
  /// one.
  @inline(__always)
  static func runMinMax(
    _ p: UnsafePointer<Float>, _ n: Int, _ lo: inout Float, _ hi: inout Float,
    _ sawNaN: inout Bool
  ) {
    var i = 0
    if n >= 32 {
      let infinity = V(repeating: .infinity)
      var lows = (infinity, infinity, infinity, infinity)
      var highs = (-infinity, -infinity, -infinity, -infinity)
      var nan = NaNLanes()
      i = fourWay(p, n, from: 0, &lows, &highs, &nan)
      let l = lowest(lower4Way(lows))
      let h = highest(upper4Way(highs))
      if l < lo { lo = l }
      if h > hi { hi = h }
      if any(nan.mask) { sawNaN = true }
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

/// Where the per-parameter results go; each parameter's slots are written by one item.
struct RangeOutput: Sendable {
  let mins: SharedPointer<Float>
  let maxs: SharedPointer<Float>
  /// What each work item of strided runs does once its ranges are written.
  var hooks = ItemHooks()

  /// Work item `item`'s ``ItemHooks``, after it wrote the ranges of `parameters`: its
  /// combined range into its slots, if asked (`known` when its kernel found it on the
  /// way, else from the ranges it has just written, while they are in cache), then
  /// `then`.
  @inline(__always)
  func finish(item: Int, _ parameters: Range<Int>, known: (Float, Float)? = nil) {
    if let slots = hooks.ranges {
      let first = parameters.lowerBound
      (slots[2 &* item], slots[2 &* item &+ 1]) = known ?? RangeReduction.lowestAndHighest(
        mins.readOnly + first, maxs.readOnly + first, parameters.count)
    }
    hooks.then?(item, parameters, mins.readOnly, maxs.readOnly, known)
  }
}

/// What each work item of strided runs does right after writing its parameters' ranges,
/// while they are in cache.
struct ItemHooks: Sendable {
  /// Two slots per item: the lowest minimum and the highest maximum of its parameters.
  var ranges: SharedPointer<Float>? = nil
  /// Called with the item, its parameters, the minima and maxima (all parameters'), and
  /// the item's lowest minimum and highest maximum when its kernel found them on the way
  /// (``RangeOutput/finish(item:_:known:)``), which it does only where none of the item's
  /// ranges holds a NaN.
  var then: ItemCallback? = nil

  typealias ItemCallback = @Sendable (
    _ item: Int, _ parameters: Range<Int>, _ mins: UnsafePointer<Float>, _ maxs: UnsafePointer<Float>,
    _ known: (Float, Float)?
  ) -> Void
}
