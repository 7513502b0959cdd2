import CalibKernels

extension RangeReduction {
  /// ``minMax(_:layout:parallel:)`` of bf16 or f16 values given as their raw bits, read
  /// at two bytes per element and compared as integers (``BFloat16Order``), with the same
  /// results bit for bit.
  ///
  /// Where a parameter holds a NaN or has a zero at an end, its work item is decoded and
  /// reduced by the float path's kernel, because the sign of a zero extreme depends on
  /// that kernel's order.
  ///
  /// - Returns: `nil` for layouts other than one contiguous run per parameter (BLOCK,
  ///   attention heads, grouped activations of rank > 2): reduce the decoded values then.
  static func minMax(
    halfBits bits: [UInt16], _ format: HalfFormat, layout: GroupLayout, parallel: Bool = true,
    hooks: ItemHooks = ItemHooks()
  ) -> ([Float], [Float])? {
    let count = layout.count
    guard layout.isStridedRuns, count > 0, !bits.isEmpty else { return nil }
    return filling(count, hooks: hooks) { out in
      bits.withUnsafeBufferPointer { buffer in
        // Non-nil: bits is not empty.
        let source = SharedPointer(buffer.baseAddress!)
        let (stride, length) = (layout.outerStride, layout.runLength)
        precondition((count - 1) * stride + length <= buffer.count, "layout exceeds the value")
        if count == 1 {
          (out.mins[0], out.maxs[0]) = wholeRun(halfBits: source, format, length, parallel: parallel)
          return
        }
        // The float path's work items, so that a fallback item decides as it does.
        let perItem = parametersPerItem(length: length)
        ForkJoin.forEach(itemCount(parameters: count, length: length), parallel: parallel) { item in
          let first = item * perItem
          let parameters = first..<Swift.min(count, first + perItem)
          let range = stridedItem(
            halfBits: source.readOnly, format, parameters, stride: stride, length: length, into: out)
          out.finish(item: item, parameters, known: range)
        }
      }
    }
  }

  /// One work item of strided parameters on bf16 or f16 bits. When a parameter has a NaN or a
  /// zero at an end, the whole item is decoded and reduced by the float path's own item
  /// kernel (``stridedItem(_:_:stride:length:into:)``): that kernel's choice between its
  /// fast and exact loops, which order ±0 differently, depends on every parameter of the
  /// item.
  ///
  /// - Returns: the lowest minimum and highest maximum of the item's parameters when the
  ///   keys, or the float path's runs of 16, found them on the way; `nil` otherwise.
  @discardableResult
  static func stridedItem(
    halfBits p: UnsafePointer<UInt16>, _ format: HalfFormat, _ parameters: Range<Int>, stride: Int, length: Int,
    into out: RangeOutput
  ) -> (Float, Float)? {
    if let range = keyRanges(p, format, parameters, stride: stride, length: length, into: out) { return range }
    let start = parameters.lowerBound * stride
    let span = (parameters.upperBound - 1) * stride + length - start
    return decoded(p + start, span, format) { f in
      stridedItem(f - start, parameters, stride: stride, length: length, into: out)
    }
  }

  /// The ranges of strided parameters from their keys, returning their lowest minimum and
  /// highest maximum; `nil`, with some slots written, as soon as a parameter holds a NaN
  /// or has a zero at an end.
  ///
  /// With AVX-512 or AVX2 (`width` 16 or 8), runs whose length is a multiple of 16 go
  /// `width` at a time to `calib_half_key_runs`. Otherwise runs whose length is a
  /// multiple of 8 go eight parameters at a time: each folds its run into one vector of
  /// eight partial keys, and ``BFloat16Order/transposed(_:_:)`` reduces the eight vectors
  /// across lanes at once, parameter `k` landing in lane `k`. Integer minima and maxima
  /// are exact in any order, so every route gives the same keys.
  @inline(__always)
  static func keyRanges(
    _ p: UnsafePointer<UInt16>, _ format: HalfFormat, _ parameters: Range<Int>, stride: Int, length: Int,
    into out: RangeOutput, width: Int = WideKernels.width
  ) -> (Float, Float)? {
    typealias Order = BFloat16Order
    var q = parameters.lowerBound
    var (lowest, highest) = (Float.infinity, -Float.infinity)
    if width >= 8 && length % 16 == 0 && parameters.count >= width {
      let wide = parameters.count & ~(width - 1)
      let clean = calib_half_key_runs(
        Int32(width), p + q &* stride, wide, stride, length, format == .float16 ? 1 : 0,
        out.mins.base + q, out.maxs.base + q, &lowest, &highest)
      if clean == 0 { return nil }
      q &+= wide
    }
    let rest = q
    if length % 8 == 0 {
      while q &+ 8 <= parameters.upperBound {
        let raw = UnsafeRawPointer(p + q &* stride)
        let bytes = stride &* 2
        typealias Eight = (Order.Keys, Order.Keys, Order.Keys, Order.Keys, Order.Keys, Order.Keys, Order.Keys, Order.Keys)
        var low: Eight
        var high: Eight
        if length <= 32 {
          // Short runs (NVFP4's 16): the eight runs side by side, all in registers.
          @inline(__always) func keys(_ k: Int, _ j: Int) -> Order.Keys {
            Order.keys(raw.loadUnaligned(fromByteOffset: k &* bytes &+ j, as: Order.Keys.self))
          }
          low = (keys(0, 0), keys(1, 0), keys(2, 0), keys(3, 0), keys(4, 0), keys(5, 0), keys(6, 0), keys(7, 0))
          high = low
          var j = 16
          while j < length &* 2 {
            let next = (keys(0, j), keys(1, j), keys(2, j), keys(3, j), keys(4, j), keys(5, j), keys(6, j), keys(7, j))
            low = (
              Order.lower(low.0, next.0), Order.lower(low.1, next.1), Order.lower(low.2, next.2),
              Order.lower(low.3, next.3), Order.lower(low.4, next.4), Order.lower(low.5, next.5),
              Order.lower(low.6, next.6), Order.lower(low.7, next.7)
            )
            high = (
              Order.upper(high.0, next.0), Order.upper(high.1, next.1), Order.upper(high.2, next.2),
              Order.upper(high.3, next.3), Order.upper(high.4, next.4), Order.upper(high.5, next.5),
              Order.upper(high.6, next.6), Order.upper(high.7, next.7)
            )
            j &+= 16
          }
        } else {
          // Longer runs one after another, each with two accumulators.
          let g = (
            Order.partialKeys(raw, length), Order.partialKeys(raw + bytes, length),
            Order.partialKeys(raw + 2 &* bytes, length), Order.partialKeys(raw + 3 &* bytes, length),
            Order.partialKeys(raw + 4 &* bytes, length), Order.partialKeys(raw + 5 &* bytes, length),
            Order.partialKeys(raw + 6 &* bytes, length), Order.partialKeys(raw + 7 &* bytes, length)
          )
          low = (g.0.low, g.1.low, g.2.low, g.3.low, g.4.low, g.5.low, g.6.low, g.7.low)
          high = (g.0.high, g.1.high, g.2.high, g.3.high, g.4.high, g.5.high, g.6.high, g.7.high)
        }
        let mins = Order.transposed(low, Order.lower)
        let maxs = Order.transposed(high, Order.upper)
        // A NaN lies beyond ±∞'s keys; ±0 are the keys 0 and -1, the two that an
        // arithmetic shift by one leaves unchanged.
        let infinity = Int32(format.infinityKey)
        let (nanLow, nanHigh) = (SIMD4<Int32>(repeating: -infinity - 1), SIMD4<Int32>(repeating: infinity))
        let nan = (mins.0 .< nanLow) .| (mins.1 .< nanLow) .| (maxs.0 .> nanHigh) .| (maxs.1 .> nanHigh)
        let zero = ((mins.0 &>> 1) .== mins.0) .| ((mins.1 &>> 1) .== mins.1) .| ((maxs.0 &>> 1) .== maxs.0)
          .| ((maxs.1 &>> 1) .== maxs.1)
        if any(nan .| zero) { return nil }
        UnsafeMutableRawPointer(out.mins.base + q).storeBytes(of: Order.values(mins.0, format), as: SIMD4<Float>.self)
        UnsafeMutableRawPointer(out.mins.base + (q &+ 4)).storeBytes(of: Order.values(mins.1, format), as: SIMD4<Float>.self)
        UnsafeMutableRawPointer(out.maxs.base + q).storeBytes(of: Order.values(maxs.0, format), as: SIMD4<Float>.self)
        UnsafeMutableRawPointer(out.maxs.base + (q &+ 4)).storeBytes(of: Order.values(maxs.1, format), as: SIMD4<Float>.self)
        q &+= 8
      }
    }
    while q < parameters.upperBound {
      let (low, high) = Order.keyRange(UnsafeRawPointer(p + q &* stride), count: length)
      guard let range = Order.range(low: low, high: high, format) else { return nil }
      (out.mins[q], out.maxs[q]) = (range.min, range.max)
      q &+= 1
    }
    // Clean ranges (no NaN, no zero end): float min and max are exact in any order.
    if rest < parameters.upperBound {
      let (low, high) = lowestAndHighest(out.mins.readOnly + rest, out.maxs.readOnly + rest, parameters.upperBound - rest)
      (lowest, highest) = (Swift.min(lowest, low), Swift.max(highest, high))
    }
    return (lowest, highest)
  }

  /// ``wholeRun(_:_:parallel:)`` on bf16 or f16 bits: the same chunks, combined the same way.
  static func wholeRun(halfBits source: SharedPointer<UInt16>, _ format: HalfFormat, _ n: Int, parallel: Bool) -> (Float, Float) {
    chunked(n, parallel: parallel) { start, count in run(halfBits: source.readOnly + start, format, count) }
  }

  /// One whole-value chunk of `n` bf16 or f16 values: its key range (from `calib_bf16_key_range`
  /// with AVX-512 or AVX2, `width` 16 or 8), or ``exactRun(_:_:)`` on the decoded chunk
  /// when it holds a NaN or has a zero at an end.
  static func run(
    halfBits p: UnsafePointer<UInt16>, _ format: HalfFormat, _ n: Int, width: Int = WideKernels.width
  ) -> (Float, Float) {
    var (low, high) = (Int16.max, Int16.min)
    if width >= 8 {
      calib_bf16_key_range(Int32(width), p, n, &low, &high)
    } else {
      (low, high) = BFloat16Order.keyRange(UnsafeRawPointer(p), count: n)
    }
    if let range = BFloat16Order.range(low: low, high: high, format) { return (range.min, range.max) }
    return decoded(p, n, format) { exactRun($0, n) }
  }

  /// Calls `body` with `n` bf16 or f16 values widened to float32 in a temporary buffer.
  static func decoded<R>(
    _ p: UnsafePointer<UInt16>, _ n: Int, _ format: HalfFormat, _ body: (UnsafePointer<Float>) -> R
  ) -> R {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: Swift.max(n, 1)) { scratch in
      let f = scratch.baseAddress!  // non-nil: capacity ≥ 1
      format.widen(p, n, into: f)
      return body(f)
    }
  }
}

extension RangeReduction {
  /// The minimum and maximum of each of a tensor's parameters, by the cheapest exact
  /// route: its ``Tensor/knownRange`` when the layout is the whole value, its raw bf16 or
  /// f16 bits when it has them and the layout allows, and its float32 values otherwise.
  public static func minMax(_ value: Tensor, layout: GroupLayout, parallel: Bool = true) -> ([Float], [Float]) {
    if let known = value.knownRange, layout.isWholeValue(of: value.elementCount) {
      return ([known.min], [known.max])
    }
    if let (bits, format) = value.halfBits, let ranges = minMax(halfBits: bits, format, layout: layout, parallel: parallel) {
      return ranges
    }
    return minMax(value.values, layout: layout, parallel: parallel)
  }

  /// The minimum and maximum of all of a tensor's elements (see
  /// ``minMax(_:layout:parallel:)-(Tensor,_,_)``).
  public static func range(of value: Tensor, parallel: Bool = true) -> ValueRange {
    if let known = value.knownRange { return known }
    if let (bits, format) = value.halfBits {
      return bits.withUnsafeBufferPointer { buffer in
        guard let base = buffer.baseAddress else { return .empty }
        return ValueRange(wholeRun(halfBits: SharedPointer(base), format, buffer.count, parallel: parallel))
      }
    }
    return ValueRange(minMax(value.values, parallel: parallel))
  }
}

extension RangeReduction {
  /// The range of all values from their parameters' ranges (NaN if any is NaN), or `nil`
  /// when an end is a zero, whose sign the whole-value reduction takes from its own order.
  ///
  /// One pass over both arrays, in parallel chunks: the minimum of `mins` and the maximum
  /// of `maxs` only (exact in any order once zero ends are refused).
  static func combined(mins: [Float], maxs: [Float], parallel: Bool = true) -> ValueRange? {
    precondition(mins.count == maxs.count, "\(mins.count) minima, \(maxs.count) maxima")
    if mins.isEmpty { return nil }
    let (low, high) = mins.withUnsafeBufferPointer { lo in
      maxs.withUnsafeBufferPointer { hi in
        // Non-nil: not empty.
        let (l, h) = (SharedPointer(lo.baseAddress!), SharedPointer(hi.baseAddress!))
        return chunked(lo.count, parallel: parallel) { start, count in
          lowestAndHighest(l.readOnly + start, h.readOnly + start, count)
        }
      }
    }
    return combinedRange(low, high)
  }

  /// ``minMax(_:layout:parallel:)-(Tensor,_,_)`` and the ``combined(mins:maxs:parallel:)``
  /// range of its results, the same values. On strided runs (one or more per work item),
  /// each work item takes the lowest minimum and highest maximum of the ranges it has
  /// just written, while they are in cache, instead of a second pass over both arrays
  /// (8 MiB for an NVFP4 weight of 4096 × 4096).
  static func minMaxAndCombined(
    _ value: Tensor, layout: GroupLayout, parallel: Bool = true
  ) -> (mins: [Float], maxs: [Float], combined: ValueRange?) {
    let count = layout.count
    guard hooksRun(value, layout: layout) else {
      let (mins, maxs) = minMax(value, layout: layout, parallel: parallel)
      return (mins, maxs, combined(mins: mins, maxs: maxs, parallel: parallel))
    }
    var slots = [Float](repeating: 0, count: 2 * itemCount(parameters: count, length: layout.runLength))
    let (mins, maxs) = slots.withUnsafeMutableBufferPointer { buffer in
      // Non-nil: items ≥ 1.
      let hooks = ItemHooks(ranges: SharedPointer(buffer.baseAddress!))
      if let (bits, format) = value.halfBits,
        let ranges = minMax(halfBits: bits, format, layout: layout, parallel: parallel, hooks: hooks)
      {
        return ranges
      }
      return minMax(value.values, layout: layout, parallel: parallel, hooks: hooks)
    }
    let (low, high) = merged(slots)
    return (mins, maxs, combinedRange(low, high))
  }

  /// ``minMax(_:layout:parallel:)-(Tensor,_,_)`` of strided runs of more than one
  /// parameter (see ``hooksRun(_:layout:)``), each work item calling `then` right after
  /// writing its parameters' ranges, while they are in cache.
  static func minMax(
    _ value: Tensor, layout: GroupLayout, parallel: Bool,
    then: @escaping ItemHooks.ItemCallback
  ) -> ([Float], [Float]) {
    precondition(hooksRun(value, layout: layout), "item hooks need strided runs of more than one parameter")
    let hooks = ItemHooks(then: then)
    if let (bits, format) = value.halfBits,
      let ranges = minMax(halfBits: bits, format, layout: layout, parallel: parallel, hooks: hooks)
    {
      return ranges
    }
    return minMax(value.values, layout: layout, parallel: parallel, hooks: hooks)
  }

  /// Whether every parameter of `value` under `layout` goes through a work item of strided
  /// runs, and so through its ``ItemHooks``.
  static func hooksRun(_ value: Tensor, layout: GroupLayout) -> Bool {
    layout.isStridedRuns && layout.count > 1 && value.elementCount > 0
  }

  /// The combined range from the lowest minimum and the highest maximum: NaN if either is
  /// NaN, `nil` for a zero end (whose sign the whole-value reduction decides).
  private static func combinedRange(_ low: Float, _ high: Float) -> ValueRange? {
    if low.isNaN || high.isNaN { return ValueRange(min: .nan, max: .nan) }
    if low == 0 || high == 0 { return nil }
    return ValueRange(min: low, max: high)
  }

  /// The minimum of `n` minima and the maximum of `n` maxima; (NaN, NaN) if either holds
  /// a NaN. A zero's sign is whichever the lanes met first: callers refuse zero ends.
  static func lowestAndHighest(_ mins: UnsafePointer<Float>, _ maxs: UnsafePointer<Float>, _ n: Int) -> (Float, Float) {
    typealias Lanes = SIMD16<Float>
    var lo = Lanes(repeating: .infinity)
    var hi = Lanes(repeating: -.infinity)
    var nan = SIMDMask<Lanes.MaskStorage>()
    let (a, b) = (UnsafeRawPointer(mins), UnsafeRawPointer(maxs))
    var i = 0
    while i &+ 16 <= n {
      let x = a.loadUnaligned(fromByteOffset: i &* 4, as: Lanes.self)
      let y = b.loadUnaligned(fromByteOffset: i &* 4, as: Lanes.self)
      lo.replace(with: x, where: x .< lo)
      hi.replace(with: y, where: y .> hi)
      nan .|= (x .!= x) .| (y .!= y)
      i &+= 16
    }
    var (low, high) = (lo.min(), hi.max())
    var sawNaN = any(nan)
    while i < n {
      let (x, y) = (mins[i], maxs[i])
      if x.isNaN || y.isNaN { sawNaN = true }
      if x < low { low = x }
      if y > high { high = y }
      i &+= 1
    }
    return sawNaN ? (.nan, .nan) : (low, high)
  }
}
