#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The shrink grid search of llm-compressor 0.10's MSE observers (`_grid_search_mse`).
///
/// For step `i` in `0..<int(maxshrink · grid)`, with `p = f32(1 - i/grid)`:
/// ```
/// candidate range  (p · mn₀, p · mx₀)            per parameter; mn₀, mx₀ = raw min, max
/// global scale     given g, or generate(p·mn₀, p·mx₀) when optimizing it
/// parameters       calculate_qparams(candidate, args, g)   (scale dtype rounding included)
/// error            Σ |QDQ(x) - x| ^ norm                   over the parameter's elements
/// ```
/// A parameter adopts a candidate when its error is strictly smaller than its best so
/// far, so ties keep the earlier, wider range. After `patience` consecutive steps in which
/// no parameter improved, the search stops (patience is global, as in the reference).
///
/// Precision: QDQ is computed in float32 exactly as torch does. The power is `d · d` for
/// norm 2 (exact), a vectorized `2^(p·log2 d)` within 3 ulp of the correctly rounded
/// value for 1.2 ≤ norm ≤ 16 (see ``FastPower``), and `powf` otherwise. Errors are summed
/// in double (pairs of float32 terms first), then rounded to float32 for the comparison.
/// torch sums in a blocked float32 order, so an error can differ in its last bits and a
/// near-tie may pick the neighbouring shrink factor.
///
/// NaN policy: callers refuse non-finite values before searching.
/// Determinism: the work is split by parameter, or for very large parameters into fixed
/// chunks whose partial sums are combined in chunk order, so the result does not depend
/// on the thread count.
/// Complexity: O(n · steps); every parameter's elements (or chunk) are read once and
/// reused for all steps while in L1.
public struct MSEGridSearch: Sendable {
  public var settings: ObserverSettings

  public init(settings: ObserverSettings) {
    self.settings = settings
  }

  /// The best (min, max) per parameter of `layout`.
  ///
  /// - Parameters:
  ///   - globalScale: the module's global scale, applied to every candidate.
  ///   - optimizingGlobalScale: recompute the global scale from each candidate range
  ///     (the search behind `get_global_scale`).
  ///   - rawMin: per-parameter minimum of `values` (already reduced by the caller).
  public func search(
    _ values: [Float], layout: GroupLayout, args: QuantizationArgs, globalScale: Float?,
    optimizingGlobalScale: Bool, rawMin: [Float], rawMax: [Float]
  ) throws -> (min: [Float], max: [Float]) {
    let steps = settings.searchSteps
    let count = layout.count
    if steps == 0 { return (rawMin, rawMax) }
    if !args.symmetric && args.isFP4 { throw QuantizationArgsError.asymmetricFP4 }
    precondition(rawMin.count == count && rawMax.count == count)

    let factors = (0..<steps).map { settings.shrinkFactor($0) }
    let candidates = Candidates(
      args: args, globalScale: globalScale, optimizingGlobalScale: optimizingGlobalScale,
      factors: factors, rawMin: rawMin, rawMax: rawMax)
    let errors = errorTable(values, layout: layout, args: args, steps: steps, candidates: candidates)

    var bestError = [Float](repeating: .greatestFiniteMagnitude, count: count)
    var bestMin = rawMin
    var bestMax = rawMax
    var stale = 0.0
    for i in 0..<steps {
      var improved = false
      let p = factors[i]
      for q in 0..<count {
        let e = errors[i * count + q]
        if e < bestError[q] {
          bestError[q] = e
          bestMin[q] = p * rawMin[q]
          bestMax[q] = p * rawMax[q]
          improved = true
        }
      }
      if improved {
        stale = 0
      } else {
        stale += 1
        if stale >= settings.patience { break }
      }
    }
    return (bestMin, bestMax)
  }

  /// Σ |QDQ(x) - x|^norm for every (step, parameter), as float32, step-major.
  func errorTable(
    _ values: [Float], layout: GroupLayout, args: QuantizationArgs, steps: Int,
    candidates: Candidates
  ) -> [Float] {
    if let symmetric = SymmetricIntegerQDQ(args) {
      return errorTable(values, layout, steps, candidates, symmetric)
    }
    if let integer = IntegerQDQ(args) {
      return errorTable(values, layout, steps, candidates, integer)
    }
    return errorTable(values, layout, steps, candidates, ScalarQDQ(args))
  }

  private func errorTable<Q: LaneQDQ>(
    _ values: [Float], _ layout: GroupLayout, _ steps: Int, _ candidates: Candidates, _ qdq: Q
  ) -> [Float] {
    let norm = Float(settings.norm)
    if norm == 2 { return table(values, layout, steps, candidates, qdq, SquarePower()) }
    if let fast = FastPower(norm: norm) { return table(values, layout, steps, candidates, qdq, fast) }
    return table(values, layout, steps, candidates, qdq, ScalarPower(norm: norm))
  }

  /// Elements per chunk when one parameter is split (16 KiB: stays in L1 for all steps).
  static let chunkElements = 4096
  /// Parameters at least this large are split into chunks.
  static let splitThreshold = 1 << 16
  /// Elements per work item when whole parameters are handed out.
  static let itemElements = 1 << 14

  private func table<Q: LaneQDQ, P: LanePower>(
    _ values: [Float], _ layout: GroupLayout, _ steps: Int, _ candidates: Candidates, _ qdq: Q,
    _ power: P
  ) -> [Float] {
    let count = layout.count
    var table = [Float](repeating: 0, count: steps * count)
    let perParameter = Swift.max(1, layout.runCount * layout.runLength)
    values.withUnsafeBufferPointer { buffer in
      guard let base = buffer.baseAddress else { return }
      let source = SharedPointer(base)
      table.withUnsafeMutableBufferPointer { out in
        let errors = SharedPointer(out.baseAddress!)  // non-nil: steps, count > 0
        if perParameter >= Self.splitThreshold {
          chunkedParameters(source, layout, steps, candidates, qdq, power, into: errors)
        } else {
          wholeParameters(source, layout, steps, candidates, qdq, power, into: errors)
        }
      }
    }
    return table
  }

  /// Small parameters: blocks of whole parameters per work item; each (step, parameter)
  /// sum runs over the parameter's runs in order.
  private func wholeParameters<Q: LaneQDQ, P: LanePower>(
    _ source: SharedPointer<Float>, _ layout: GroupLayout, _ steps: Int, _ candidates: Candidates,
    _ qdq: Q, _ power: P, into errors: SharedPointer<Float>
  ) {
    let count = layout.count
    let perParameter = Swift.max(1, layout.runCount * layout.runLength)
    let perItem = Swift.max(1, Self.itemElements / perParameter)
    let items = (count + perItem - 1) / perItem
    ParallelWork.forEach(items) { item in
      var scales = [Float](repeating: 0, count: steps)
      var zeros = [Float](repeating: 0, count: steps)
      var sums = [Double](repeating: 0, count: steps)
      for q in (item * perItem)..<Swift.min(count, (item + 1) * perItem) {
        for i in 0..<steps {
          (scales[i], zeros[i]) = candidates.parameters(step: i, q)
          sums[i] = 0
        }
        let reach = candidates.magnitude(q)
        layout.forEachRun(of: q) { start, length in
          for i in 0..<steps {
            sums[i] += Self.runError(
              source.readOnly + start, length, scale: scales[i], zeroPoint: zeros[i], reach: reach, qdq, power)
          }
        }
        for i in 0..<steps { errors[i * count + q] = Float(sums[i]) }
      }
    }
  }

  /// Large parameters: every run is cut into fixed chunks; each chunk's per-step sums get
  /// their own slots and are added up per parameter in chunk order afterwards.
  private func chunkedParameters<Q: LaneQDQ, P: LanePower>(
    _ source: SharedPointer<Float>, _ layout: GroupLayout, _ steps: Int, _ candidates: Candidates,
    _ qdq: Q, _ power: P, into errors: SharedPointer<Float>
  ) {
    let count = layout.count
    let chunk = Self.chunkElements
    // Chunks in (parameter, run, offset) order.
    var owners: [Int] = []
    var starts: [Int] = []
    var lengths: [Int] = []
    for q in 0..<count {
      layout.forEachRun(of: q) { start, length in
        var offset = 0
        while offset < length {
          owners.append(q)
          starts.append(start + offset)
          lengths.append(Swift.min(chunk, length - offset))
          offset += chunk
        }
      }
    }
    var scales = [Float](repeating: 0, count: steps * count)
    var zeros = [Float](repeating: 0, count: steps * count)
    for q in 0..<count {
      for i in 0..<steps { (scales[q * steps + i], zeros[q * steps + i]) = candidates.parameters(step: i, q) }
    }
    let (chunkOwners, chunkStarts, chunkLengths) = (owners, starts, lengths)
    let (candidateScales, candidateZeros) = (scales, zeros)
    let chunks = owners.count
    var partial = [Double](repeating: 0, count: chunks * steps)
    partial.withUnsafeMutableBufferPointer { buffer in
      guard let slots = buffer.baseAddress.map(SharedPointer.init) else { return }
      ParallelWork.forEach(chunks) { c in
        let q = chunkOwners[c]
        let p = source.readOnly + chunkStarts[c]
        for i in 0..<steps {
          slots[c * steps + i] = Self.runError(
            p, chunkLengths[c], scale: candidateScales[q * steps + i],
            zeroPoint: candidateZeros[q * steps + i], reach: candidates.magnitude(q), qdq, power)
        }
      }
    }
    var sums = [Double](repeating: 0, count: count * steps)
    for c in 0..<chunks {
      let q = owners[c]
      for i in 0..<steps { sums[q * steps + i] += partial[c * steps + i] }
    }
    for q in 0..<count {
      for i in 0..<steps { errors[i * count + q] = Float(sums[q * steps + i]) }
    }
  }

  /// Σ |QDQ(x) - x|^norm over one contiguous run, in double: four lanes of double
  /// accumulators, each fed the float32 sum of two terms. `reach` bounds |x|; runs whose
  /// differences could leave the power's range use ``ScalarPower``.
  @inline(__always)
  static func runError<Q: LaneQDQ, P: LanePower>(
    _ p: UnsafePointer<Float>, _ n: Int, scale: Float, zeroPoint: Float, reach: Float, _ qdq: Q,
    _ power: P
  ) -> Double {
    // |QDQ(x) - x| ≤ |x| + (|level| + |zp|) · s, with a margin for rounding.
    let bound = (Double(reach) + (Double(qdq.levelReach) + Double(zeroPoint.magnitude)) * Double(scale)) * 1.01
    if !power.handles(upTo: bound) {
      return runSum(p, n, scale: scale, zeroPoint: zeroPoint, qdq, ScalarPower(norm: power.norm))
    }
    return runSum(p, n, scale: scale, zeroPoint: zeroPoint, qdq, power)
  }

  @inline(__always)
  static func term<Q: LaneQDQ, P: LanePower>(
    _ x: Lanes, _ s: Lanes, _ zp: Lanes, _ scale: Float, _ zeroPoint: Float, _ qdq: Q, _ power: P
  ) -> Lanes {
    let out = qdq.qdq(x, scale: s, zeroPoint: zp, scalarScale: scale, scalarZeroPoint: zeroPoint)
    return power.power(Lanes(bits: (out - x).bits & LaneBits(repeating: 0x7FFF_FFFF)))
  }

  // Kept out of line: inlined into the callers' loops, the optimizer scalarizes parts of
  // the lane arithmetic.
  @inline(never)
  static func runSum<Q: LaneQDQ, P: LanePower>(
    _ p: UnsafePointer<Float>, _ n: Int, scale: Float, zeroPoint: Float, _ qdq: Q, _ power: P
  ) -> Double {
    let s = Lanes(repeating: scale)
    let zp = Lanes(repeating: zeroPoint)
    let raw = UnsafeRawPointer(p)
    var acc = SIMD4<Double>()
    var j = 0
    while j &+ 8 <= n {
      let a = raw.loadUnaligned(fromByteOffset: j &* 4, as: Lanes.self)
      let b = raw.loadUnaligned(fromByteOffset: (j &+ 4) &* 4, as: Lanes.self)
      let t = term(a, s, zp, scale, zeroPoint, qdq, power) + term(b, s, zp, scale, zeroPoint, qdq, power)
      acc += SIMD4<Double>(t)
      j &+= 8
    }
    if j < n {
      // The last up to 7 elements, zero-padded; padded lanes are masked out.
      var a = Lanes()
      var b = Lanes()
      var k = 0
      while j &+ k < n && k < 4 {
        a[k] = p[j &+ k]
        k &+= 1
      }
      while j &+ k < n {
        b[k &- 4] = p[j &+ k]
        k &+= 1
      }
      let lane = SIMD4<Int32>(0, 1, 2, 3)
      let rest = SIMD4<Int32>(repeating: Int32(n &- j))
      var ta = term(a, s, zp, scale, zeroPoint, qdq, power)
      var tb = term(b, s, zp, scale, zeroPoint, qdq, power)
      ta.replace(with: 0, where: lane .>= rest)
      tb.replace(with: 0, where: (lane &+ 4) .>= rest)
      acc += SIMD4<Double>(ta + tb)
    }
    return (acc[0] + acc[1]) + (acc[2] + acc[3])
  }
}

/// The candidate scale and zero point of every (step, parameter), computed on demand.
struct Candidates: Sendable {
  let args: QuantizationArgs
  let globalScale: Float?
  let optimizingGlobalScale: Bool
  let kernel: QParamKernel
  let factors: [Float]
  let rawMin: [Float]
  let rawMax: [Float]

  init(
    args: QuantizationArgs, globalScale: Float?, optimizingGlobalScale: Bool, factors: [Float],
    rawMin: [Float], rawMax: [Float]
  ) {
    self.args = args
    self.globalScale = globalScale
    self.optimizingGlobalScale = optimizingGlobalScale
    kernel = QParamKernel(args, globalScale: globalScale)
    self.factors = factors
    self.rawMin = rawMin
    self.rawMax = rawMax
  }

  /// The largest |x| of parameter `q`.
  @inline(__always)
  func magnitude(_ q: Int) -> Float { Swift.max(rawMin[q].magnitude, rawMax[q].magnitude) }

  /// The effective scale (`s / g` under a global scale) and zero point of step `i`'s
  /// candidate range for parameter `q`.
  @inline(__always)
  func parameters(step i: Int, _ q: Int) -> (Float, Float) {
    let p = factors[i]
    let smn = p * rawMin[q]
    let smx = p * rawMax[q]
    if optimizingGlobalScale {
      let g = GlobalScale.generate(min: smn, max: smx)
      let (s, zp) = QParamKernel(args, globalScale: g).scaleAndZeroPoint(min: smn, max: smx)
      return (s / g, zp)
    }
    let (s, zp) = kernel.scaleAndZeroPoint(min: smn, max: smx)
    return (globalScale.map { s / $0 } ?? s, zp)
  }
}
