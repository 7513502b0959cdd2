/// Long bf16 parameters: a term per value, not per element.
///
/// A bf16 value is one of 65,536 bit patterns, and within one step every element of a
/// parameter shares its scale and zero point, so the term `r(|QDQ(x) - x| ^ norm)` is a
/// function of x's 16 bits alone. For a parameter of ``tabulationThreshold`` elements or
/// more (a TENSOR-strategy activation, say), each step computes that function once for
/// every bf16 value the parameter can hold (a 256 KiB table) with the same lane kernels,
/// and the sum then looks each element's term up, in the same ``TorchSum`` order. Same
/// terms, same order: the same bits as computing every element, for a fraction of the work.
extension MSEGridSearch {
  /// Elements from which a bf16 parameter's terms are tabulated.
  static let tabulationThreshold = 1 << 18

  /// Terms gathered per bulk addition.
  static let gatherBlock = 1024

  /// ``sequenceTotals(_:_:_:_:_:_:_:_:_:)`` by table: each step's float32 sum over the bf16
  /// sequence `p[0..<n]`, whose values are at most `reach` in magnitude.
  func tabulatedTotals<Q: LaneQDQ, P: LanePower, R: LaneRounding>(
    _ p: UnsafePointer<Float>, _ n: Int, _ steps: Int, _ scales: UnsafePointer<Float>,
    _ zeros: UnsafePointer<Float>, _ reach: Float, _ qdq: Q, _ power: P, _ rounding: R.Type
  ) -> [Float] {
    var table = [Float](repeating: 0, count: 1 << 16)
    return (0..<steps).map { i in
      table.withUnsafeMutableBufferPointer { t in
        // Non-nil: 65,536 entries.
        Self.fillTermTable(t.baseAddress!, scale: scales[i], zero: zeros[i], reach: reach, qdq, power, R.self)
        return lookedUpTotal(p, n, SharedPointer(t.baseAddress!))
      }
    }
  }

  /// `table[b]` := the term of the bf16 value with bits `b`, for every finite value of
  /// magnitude at most `reach` (the others are never looked up and stay 0).
  static func fillTermTable<Q: LaneQDQ, P: LanePower, R: LaneRounding>(
    _ table: UnsafeMutablePointer<Float>, scale: Float, zero: Float, reach: Float, _ qdq: Q, _ power: P,
    _ rounding: R.Type
  ) {
    let (s, zp) = (Lanes(repeating: scale), Lanes(repeating: zero))
    var lane = LaneBits()
    for k in 0..<8 { lane[k] = UInt32(k) }
    for first in stride(from: 0, to: 1 << 16, by: 8) {
      let x = Lanes(bits: (LaneBits(repeating: UInt32(first)) &+ lane) &<< 16)
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
  private func lookedUpTotal(_ p: UnsafePointer<Float>, _ n: Int, _ table: SharedPointer<Float>) -> Float {
    let shape = TorchSum(count: n, dtype: .bfloat16)
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
        Self.addLookedUp(source.readOnly, starts[k]..<end, table.readOnly, into: slots.base + k)
      }
    }
    var merged = TorchSum.merging(parts)
    return merged.total()
  }

  /// Adds the looked-up terms of `p[range]` to `sum`, in order.
  static func addLookedUp(
    _ p: UnsafePointer<Float>, _ range: Range<Int>, _ table: UnsafePointer<Float>,
    into sum: UnsafeMutablePointer<TorchSum>
  ) {
    let bits = UnsafeRawPointer(p).assumingMemoryBound(to: UInt32.self)
    withUnsafeTemporaryAllocation(of: Float.self, capacity: gatherBlock) { buffer in
      // Non-nil: capacity > 0.
      let terms = buffer.baseAddress!
      var start = range.lowerBound
      while start < range.upperBound {
        let m = Swift.min(gatherBlock, range.upperBound - start)
        for j in 0..<m { terms[j] = table[Int(bits[start &+ j] &>> 16)] }
        sum.pointee.add(contentsOf: terms, count: m)
        start &+= m
      }
    }
  }
}
