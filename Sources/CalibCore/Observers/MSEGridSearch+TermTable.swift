/// Long bf16 and f16 parameters: a term per value, not per element.
///
/// A bf16 or f16 value is one of 65,536 bit patterns, and within one step every element
/// of a parameter shares its scale and zero point, so the term `r(|QDQ(x) - x| ^ norm)` is
/// a function of x's 16 bits alone. For a parameter of ``tabulationThreshold`` elements or
/// more (a TENSOR-strategy activation, say), each step computes that function once for
/// every value of the dtype the parameter can hold (a 256 KiB table) with the same lane
/// kernels, and the sum then looks each element's term up, in the same ``TorchSum`` order.
/// Same terms, same order: the same bits as computing every element, for a fraction of the
/// work.
extension MSEGridSearch {
  /// Elements from which a bf16 or f16 parameter's terms are tabulated.
  static let tabulationThreshold = 1 << 18

  /// Terms gathered per bulk addition.
  static let gatherBlock = 1024

  /// ``sequenceTotals(_:_:_:_:_:_:_:_:_:)`` by table, rounded to the dtype D (bf16 or
  /// f16, whose keys `K` are), for each piece of a sequence (torch's split of a sum over
  /// its threads, or the whole sequence): `totals[k][i]` is step i's float32 sum over
  /// `p[pieces[k]]` rounded to D, the values being at most `reach` in magnitude. Each step
  /// fills one table for all pieces, only over the magnitudes within `reach`, both signs in
  /// parallel.
  ///
  /// A piece's sum is first bracketed from its value counts, taken once per search
  /// (``ValueCounts``): the exact sum Σ count(b) · term(b), widened by the most that
  /// torch's float32 order can round it (``TorchSum/maximumRoundings(count:dtype:)``).
  /// Where the whole bracket rounds to one value of D, that value is the sum's; where it
  /// straddles a rounding boundary (a fraction of a percent of steps), the terms are
  /// looked up and summed in torch's order.
  func tabulatedTotals<Q: LaneQDQ, P: LanePower, R: LaneRounding, K: PowerTableKeys>(
    _ p: UnsafePointer<Float>, _ pieces: [Range<Int>], _ steps: Int, _ scales: UnsafePointer<Float>,
    _ zeros: UnsafePointer<Float>, _ reach: Float, _ qdq: Q, _ power: P, _ rounding: R.Type, _ keys: K.Type
  ) -> [[Float]] {
    precondition(K.dtype == R.dtype, "keys of \(K.dtype) for arithmetic in \(R.dtype)")
    var table = [Float](repeating: 0, count: 1 << 16)
    // The key of the largest magnitude within reach.
    let top = K.topKey(within: reach)
    let counts = pieces.map { ValueCounts(p + $0.lowerBound, $0.count, K.self, parallel: runsInParallel) }
    let roundings = pieces.map { TorchSum.maximumRoundings(count: $0.count, dtype: K.dtype) }
    var totals = [[Float]](repeating: [Float](repeating: 0, count: steps), count: pieces.count)
    table.withUnsafeMutableBufferPointer { t in
      // Non-nil: 65,536 entries.
      let table = SharedPointer(t.baseAddress!)
      for i in 0..<steps {
        let (scale, zero) = (scales[i], zeros[i])
        ForkJoin.forEach(2, parallel: runsInParallel) { sign in
          Self.fillTermTable(
            table.base, bits: (sign << 15)..<((sign << 15) + top + 1), scale: scale, zero: zero, reach: reach, qdq,
            power, R.self, K.self)
        }
        for (k, piece) in pieces.enumerated() where !piece.isEmpty {
          let exact = counts[k].total(table.readOnly, magnitudes: 0...top)
          totals[k][i] = ValueCounts.certified(exact, roundings: roundings[k], dtype: K.dtype)
            ?? K.dtype.rounded(lookedUpTotal(p + piece.lowerBound, piece.count, table, K.self))
        }
      }
    }
    return totals
  }

  /// `table[b]` := the term of the value with key `b`, for `b` in `bits` (one sign's),
  /// where its magnitude is at most `reach` (0 elsewhere: never looked up). Writes up to 7
  /// entries past `bits`, with 0 when they are out of reach.
  static func fillTermTable<Q: LaneQDQ, P: LanePower, R: LaneRounding, K: PowerTableKeys>(
    _ table: UnsafeMutablePointer<Float>, bits: Range<Int>, scale: Float, zero: Float, reach: Float, _ qdq: Q,
    _ power: P, _ rounding: R.Type, _ keys: K.Type
  ) {
    let (s, zp) = (Lanes(repeating: scale), Lanes(repeating: zero))
    for first in stride(from: bits.lowerBound, to: bits.upperBound, by: 8) {
      let x = K.lanes(from: first)
      let used = Lanes(bits: x.bits & LaneBits(repeating: 0x7FFF_FFFF)) .<= Lanes(repeating: reach)
      let safe = Lanes(repeating: 0).replacing(with: x, where: used)
      let d = difference(safe, s, zp, scale, zero, qdq, R.self)
      let term = power.term(power.middle(power.begin(d)), R.self)
      (table + first).withMemoryRebound(to: Lanes.self, capacity: 1) {
        $0.pointee = Lanes(repeating: 0).replacing(with: term, where: used)
      }
    }
  }

  /// The float32 sum of the looked-up terms of `p[0..<n]`, in torch's order, its
  /// independent blocks in parallel.
  private func lookedUpTotal<K: PowerTableKeys>(
    _ p: UnsafePointer<Float>, _ n: Int, _ table: SharedPointer<Float>, _ keys: K.Type
  ) -> Float {
    let shape = TorchSum(count: n, dtype: K.dtype)
    let rowsEnd = shape.rowLoads * shape.loadWidth
    let starts = Array(stride(from: 0, to: Swift.max(rowsEnd, 1), by: shape.blockTerms))
    var parts = [TorchSum](repeating: shape, count: starts.count)
    let source = SharedPointer(p)
    parts.withUnsafeMutableBufferPointer { buffer in
      // Non-nil: at least one part.
      let slots = SharedPointer(buffer.baseAddress!)
      ForkJoin.forEach(starts.count, parallel: runsInParallel) { k in
        let end = k + 1 < starts.count ? starts[k + 1] : n
        slots.base[k].reset(count: n, dtype: .bfloat16, startingAt: starts[k])
        Self.addLookedUp(source.readOnly, starts[k]..<end, table.readOnly, K.self, into: slots.base + k)
      }
    }
    var merged = TorchSum.merging(parts)
    return merged.total()
  }

  /// Adds the looked-up terms of `p[range]` to `sum`, in order.
  static func addLookedUp<K: PowerTableKeys>(
    _ p: UnsafePointer<Float>, _ range: Range<Int>, _ table: UnsafePointer<Float>, _ keys: K.Type,
    into sum: UnsafeMutablePointer<TorchSum>
  ) {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: gatherBlock) { buffer in
      // Non-nil: capacity > 0.
      let terms = buffer.baseAddress!
      var start = range.lowerBound
      while start < range.upperBound {
        let m = Swift.min(gatherBlock, range.upperBound - start)
        for j in 0..<m { terms[j] = table[K.key(p[start &+ j])] }
        sum.pointee.add(contentsOf: terms, count: m)
        start &+= m
      }
    }
  }
}

/// How many elements of a bf16 or f16 sequence hold each of the 65,536 bit patterns, and
/// the exact sum of a term table over them.
struct ValueCounts {
  private(set) var counts: [UInt32]

  /// The counts of `p[0..<n]` (values of `K`'s dtype as float32), in parallel parts.
  init<K: PowerTableKeys>(_ p: UnsafePointer<Float>, _ n: Int, _ keys: K.Type, parallel: Bool) {
    let part = 1 << 20
    let parts = Swift.max(1, (n + part - 1) / part)
    var partial = [UInt32](repeating: 0, count: parts << 16)
    partial.withUnsafeMutableBufferPointer { buffer in
      // Non-nil: at least one part.
      let (out, source) = (SharedPointer(buffer.baseAddress!), SharedPointer(p))
      ForkJoin.forEach(parts, parallel: parallel) { k in
        let slots = out.base + (k << 16)
        for j in (k * part)..<Swift.min(n, (k + 1) * part) { slots[K.key(source[j])] &+= 1 }
      }
    }
    counts = [UInt32](repeating: 0, count: 1 << 16)
    for k in 0..<parts {
      for b in 0..<(1 << 16) { counts[b] &+= partial[(k << 16) + b] }
    }
  }

  /// Σ count(b) · table[b] over the bits b of both signs' `magnitudes`, in double: each
  /// product of a count (below 2^32) and a bf16 or f16 term (8 or 11 significant bits) is
  /// exact, and the
  /// sum of at most 65,536 of them is off by less than 2^-36 of itself.
  func total(_ table: UnsafePointer<Float>, magnitudes: ClosedRange<Int>) -> Double {
    var sum = 0.0
    for sign in [0, 0x8000] {
      for b in (sign + magnitudes.lowerBound)...(sign + magnitudes.upperBound) where counts[b] != 0 {
        sum += Double(counts[b]) * Double(table[b])
      }
    }
    return sum
  }

  /// The rounding to `dtype` of every float32 sum of nonnegative terms whose exact sum is
  /// `exact` and in which no term goes through more than `roundings` additions; `nil`
  /// when that bracket, `exact · (1 ± 1.01 · roundings · 2^-24 + 2^-36)`, holds a
  /// rounding boundary of `dtype`, or is not finite in float32. Each rounding multiplies a term's share by at
  /// most (1 ± 2^-24), and additions of nonnegative floats neither cancel nor underflow
  /// inexactly.
  static func certified(_ exact: Double, roundings: Int, dtype: FloatDType) -> Float? {
    guard exact.isFinite, exact >= 0 else { return nil }
    let margin = 1.01 * Double(roundings) * 0x1p-24 + 0x1p-36
    let low = Float(exact * (1 - margin)).nextDown
    let high = Float(exact * (1 + margin)).nextUp
    guard high.isFinite else { return nil }
    let rounded = dtype.rounded(Swift.max(low, 0))
    return rounded == dtype.rounded(high) ? rounded : nil
  }
}
