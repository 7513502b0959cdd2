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
/// Precision: QDQ is computed exactly as torch does in the values' dtype D (eight lanes at
/// a time, see ``IntegerQDQ``). In bf16 and f16, torch's op sequence rounds
/// `fake_quantize(...).to(D)`, `q - x`, and `|q - x| ^ norm` each to D (the exponent itself
/// taken in D: 2.4 becomes 2.40625 in bf16), then sums in float32 and rounds the sum once
/// to D — so errors are coarse and exact ties between neighbouring shrink factors are
/// common; a tie keeps the earlier, wider range, as torch's `err < best` does. Candidate
/// ranges are `r(p · mn₀)`, the float32 product rounded to D.
///
/// The power is torch's: `d · d` for norm 2 and `(d · d) · d` for norm 3 (torch multiplies
/// for those), otherwise torch's vectorized float32 `pow`, which is SLEEF's 1-ulp `powf`,
/// reproduced bit for bit (``TorchPower``; a correctly rounded power differs from it by one
/// ulp on a few percent of the terms at 2.4, enough to break a near-tie between two steps
/// the other way). float32 searches compute cheaper approximate terms first and fall back
/// to torch's power for the parameters whose choices the approximation cannot prove
/// (`MSEGridSearch+Certified.swift`). In bf16 the rounded powers come from a table indexed
/// by d's 16 bits (``BFloat16PowerTable``). Each error is summed in float32 in exactly torch's order
/// (``TorchSum``), then rounded to D, so near-ties break as they do in torch, including
/// torch's split of a single parameter's sum over its threads (``TorchThreads``).
///
/// Not reproduced: torch computes the last `n mod 32` terms of each of its threads' share
/// of the `pow_` (16 with AVX2) with the C library's `powf` instead; every share is whole
/// vectors when the element count is a multiple of 32 · threads (any shape whose last
/// dimension is a multiple of 64, for two threads).
/// NaN policy: callers refuse non-finite values before searching.
/// Determinism: the work is split by parameter, or for very large parameters into
/// ``TorchSum``'s independent blocks, merged in order; the selection scan is split by
/// blocks of parameters. No result depends on our thread count; a single parameter of
/// 32,768 elements or more depends on torch's, ``torchThreads``, as torch's own does.
/// Complexity: O(n · steps evaluated), in parallel; the table is computed in blocks of
/// the steps the reference is sure to evaluate and the search ends where the reference's
/// patience ends it, so no step the reference skips is computed. bf16 parameters that
/// share a scale look their terms up in a table per step instead (see
/// `MSEGridSearch+SharedScales.swift`). On CPUs with AVX2 or AVX-512, float32 integer
/// terms come from the C kernels of ``WideMSETerms``, with the same bits.
public struct MSEGridSearch: Sendable {
  public var settings: ObserverSettings
  /// Whether the search may spread over all cores (results are the same either way).
  public var runsInParallel = true
  /// The torch thread count whose order a single parameter's large sums follow
  /// (``TorchThreads``).
  public var torchThreads = TorchThreads.environment

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
  ///   - dtype: the values' dtype D, in which every step is computed (see the type's
  ///     notes); the returned ranges are in D.
  public func search(
    _ values: [Float], layout: GroupLayout, args: QuantizationArgs, globalScale: Float?,
    optimizingGlobalScale: Bool, rawMin: [Float], rawMax: [Float], dtype: FloatDType = .float32
  ) throws -> (min: [Float], max: [Float]) {
    let steps = settings.searchSteps
    let count = layout.count
    if steps == 0 { return (rawMin, rawMax) }
    if !args.symmetric && args.isFP4 { throw QuantizationArgsError.asymmetricFP4 }
    precondition(rawMin.count == count && rawMax.count == count)
    if count == 0 { return (rawMin, rawMax) }

    let factors = (0..<steps).map { settings.shrinkFactor($0) }
    // The table is computed in blocks of the steps the reference is sure to evaluate, so
    // that a search it stops early (after `patience` steps improving no parameter —
    // common for few parameters, and in bf16, whose coarse errors tie often) evaluates
    // exactly its steps, while a block's steps share each pass over the values.
    var errors: [Float] = []
    errors.reserveCapacity(steps * count)
    var best = [Float](repeating: dtype.greatestFiniteMagnitude, count: count)
    var stale = 0.0
    var computed = 0
    let powerTable = dtype == .bfloat16 ? powerTableForBFloat16() : nil
    let sequences = !values.isEmpty && sumsWholeParameters(layout)
        && Self.sharesTermTables(globalScale: globalScale, optimizingGlobalScale: optimizingGlobalScale, dtype: dtype)
      ? values.withUnsafeBufferPointer { BFloat16Sequences(SharedPointer($0.baseAddress!), layout, parallel: runsInParallel) }
      : nil
    let fast = certifiablePower(dtype: dtype)
    var certification = fast.map { _ in Certification(self, layout) }
    search: while computed < steps {
      // The reference evaluates at least the next ⌈patience - stale⌉ steps: only that many
      // steps in a row without improvement can stop it.
      let block = Swift.max(1, Int((settings.patience - stale).rounded(.up)))
      let end = Swift.min(steps, computed + block)
      let candidates = Candidates(
        args: args, globalScale: globalScale, optimizingGlobalScale: optimizingGlobalScale,
        factors: Array(factors[computed..<end]), rawMin: rawMin, rawMax: rawMax, dtype: dtype)
      var part = errorTable(
        values, layout: layout, args: args, steps: end - computed, candidates: candidates, powerTable: powerTable,
        sequences: sequences, fast: fast)
      if var state = certification {
        certify(
          &part, first: computed, steps: end - computed, count: count, errors: &errors, best: &best, &state
        ) { subset, range in
          let exact = Candidates(
            args: args, globalScale: globalScale, optimizingGlobalScale: optimizingGlobalScale,
            factors: Array(factors[range]), rawMin: rawMin, rawMax: rawMax, dtype: dtype)
          return errorTable(values, layout: layout, args: args, steps: range.count, candidates: exact, subset: subset)
        }
        certification = state
      }
      errors += part
      for i in 0..<(end - computed) {
        let improved = part.withUnsafeBufferPointer { part in
          // Non-nil: count > 0.
          best.withUnsafeMutableBufferPointer { Self.lower($0.baseAddress!, to: part.baseAddress! + i * count, count) }
        }
        if improved {
          stale = 0
        } else {
          stale += 1
          if stale >= settings.patience {
            computed = end
            break search
          }
        }
      }
      computed = end
    }

    return select(
      errors, steps: computed, count: count, factors: Array(factors[0..<computed]), rawMin: rawMin,
      rawMax: rawMax, dtype: dtype)
  }

  /// `best[q] := min(best[q], row[q])` for q < count; whether any of them fell (a row
  /// strictly below its best). Errors are never NaN (callers refuse non-finite values).
  static func lower(_ best: UnsafeMutablePointer<Float>, to row: UnsafePointer<Float>, _ count: Int) -> Bool {
    lower(best, to: row, count) { _, _ in }
  }

  /// ``lower(_:to:_:)`` that also sets `step[q] := i` where row q fell below its best.
  static func lower(
    _ best: UnsafeMutablePointer<Float>, to row: UnsafePointer<Float>, _ count: Int,
    recording step: UnsafeMutablePointer<Int32>, _ i: Int32
  ) {
    let mark = SIMD16<Int32>(repeating: i)
    _ = lower(best, to: row, count) { q, fell in
      let s = UnsafeRawPointer(step + q).loadUnaligned(as: SIMD16<Int32>.self).replacing(with: mark, where: fell)
      UnsafeMutableRawPointer(step + q).storeBytes(of: s, as: SIMD16<Int32>.self)
    } scalar: { q in
      step[q] = i
    }
  }

  /// The loop of both: `fell(q, mask)` for each vector of 16 from q, with the lanes that
  /// fell; `scalar(q)` for each single one of the ragged end that fell.
  @inline(__always)
  private static func lower(
    _ best: UnsafeMutablePointer<Float>, to row: UnsafePointer<Float>, _ count: Int,
    _ fell: (Int, SIMDMask<SIMD16<Int32>>) -> Void, scalar: (Int) -> Void = { _ in }
  ) -> Bool {
    var any = SIMDMask<SIMD16<Int32>>()
    var q = 0
    while q + 16 <= count {
      let (b, r) = (UnsafeRawPointer(best + q), UnsafeRawPointer(row + q))
      let (old, new) = (b.loadUnaligned(as: SIMD16<Float>.self), r.loadUnaligned(as: SIMD16<Float>.self))
      let lower = new .< old
      UnsafeMutableRawPointer(best + q).storeBytes(of: old.replacing(with: new, where: lower), as: SIMD16<Float>.self)
      fell(q, lower)
      any .|= lower
      q += 16
    }
    var anyFell = Swift.any(any)
    while q < count {
      if row[q] < best[q] {
        (best[q], anyFell) = (row[q], true)
        scalar(q)
      }
      q += 1
    }
    return anyFell
  }

  /// Parameters per block of the selection passes.
  static let selectionBlock = 4096

  /// The reference's sequential scan over an error table, in two parallel passes:
  /// ```
  /// best := finfo(D).max per parameter; stale := 0
  /// for each step i: improved := any parameter with errors[i] < best (then best := errors[i])
  ///                  stale := improved ? 0 : stale + 1; stop once stale ≥ patience
  /// ```
  /// Whether a parameter improves at step i depends only on its own errors, so pass one
  /// finds, per block of parameters, the steps at which any of them improves; the global
  /// stop step follows from those flags; pass two replays each parameter up to it.
  func select(
    _ errors: [Float], steps: Int, count: Int, factors: [Float], rawMin: [Float], rawMax: [Float],
    dtype: FloatDType = .float32
  ) -> (min: [Float], max: [Float]) {
    errors.withUnsafeBufferPointer { table in
      // Non-nil: steps, count > 0.
      let errors = SharedPointer(table.baseAddress!)
      let improved = improvementFlags(errors, steps: steps, count: count, dtype: dtype)
      let last = lastEvaluatedStep(improved, steps: steps, blocks: improved.count / steps)
      return bestRanges(
        errors, through: last, count: count, factors: factors, rawMin: rawMin, rawMax: rawMax, dtype: dtype)
    }
  }

  /// Pass one: per block of ``selectionBlock`` parameters and step (block-major), whether
  /// any parameter of the block improves on its best error so far at that step.
  private func improvementFlags(_ errors: SharedPointer<Float>, steps: Int, count: Int, dtype: FloatDType) -> [Bool] {
    let block = Self.selectionBlock
    let blocks = (count + block - 1) / block
    var improvedIn = [Bool](repeating: false, count: blocks * steps)
    improvedIn.withUnsafeMutableBufferPointer { flags in
      let improved = SharedPointer(flags.baseAddress!)
      ForkJoin.forEach(blocks, parallel: runsInParallel) { b in
        let first = b * block
        let width = Swift.min(count, first + block) - first
        withUnsafeTemporaryAllocation(of: Float.self, capacity: width) { best in
          best.initialize(repeating: dtype.greatestFiniteMagnitude)
          for i in 0..<steps {
            // Non-nil: width > 0.
            improved[b * steps + i] = Self.lower(best.baseAddress!, to: errors.readOnly + i * count + first, width)
          }
        }
      }
    }
    return improvedIn
  }

  /// The last step the reference evaluates: it stops once `patience` steps in a row
  /// improved no parameter.
  private func lastEvaluatedStep(_ improvedIn: [Bool], steps: Int, blocks: Int) -> Int {
    var stale = 0.0
    for i in 0..<steps {
      var any = false
      for b in 0..<blocks where improvedIn[b * steps + i] { any = true }
      if any {
        stale = 0
      } else {
        stale += 1
        if stale >= settings.patience { return i }
      }
    }
    return steps - 1
  }

  /// Pass two: each parameter's best step up to `lastStep` (the first of equal errors),
  /// and its range shrunk by that step's factor, rounded to `dtype`; a parameter that never
  /// improves keeps its raw range.
  private func bestRanges(
    _ errors: SharedPointer<Float>, through lastStep: Int, count: Int, factors: [Float], rawMin: [Float],
    rawMax: [Float], dtype: FloatDType
  ) -> (min: [Float], max: [Float]) {
    let block = Self.selectionBlock
    let blocks = (count + block - 1) / block
    var bestMin = rawMin
    var bestMax = rawMax
    bestMin.withUnsafeMutableBufferPointer { mins in
      bestMax.withUnsafeMutableBufferPointer { maxs in
        let (outMin, outMax) = (SharedPointer(mins.baseAddress!), SharedPointer(maxs.baseAddress!))
        ForkJoin.forEach(blocks, parallel: runsInParallel) { b in
          let first = b * block
          let width = Swift.min(count, first + block) - first
          withUnsafeTemporaryAllocation(of: Float.self, capacity: width) { best in
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: width) { step in
              // Non-nil: width > 0.
              let (best, step) = (best.baseAddress!, step.baseAddress!)
              best.initialize(repeating: dtype.greatestFiniteMagnitude, count: width)
              step.initialize(repeating: -1, count: width)
              for i in 0...lastStep {
                Self.lower(best, to: errors.readOnly + i * count + first, width, recording: step, Int32(i))
              }
              // The last step that lowered a parameter's best is its first least error.
              for k in 0..<width where step[k] >= 0 {
                let p = factors[Int(step[k])]
                outMin[first + k] = dtype.rounded(p * rawMin[first + k])
                outMax[first + k] = dtype.rounded(p * rawMax[first + k])
              }
            }
          }
        }
      }
    }
    return (bestMin, bestMax)
  }

  /// The bf16 power table for this search's norm, or `nil` where the power is exact
  /// anyway (norm 2).
  func powerTableForBFloat16() -> BFloat16PowerTable? {
    let norm = BFloat16.rounded(Float(settings.norm))
    return norm == 2 ? nil : BFloat16PowerTable(norm: norm)
  }

  /// Σ |QDQ(x) - x|^norm for every (step, parameter), in D, step-major.
  ///
  /// - Parameters:
  ///   - fast: float32 only: raise with this approximation instead of torch's power (see
  ///     ``certify(_:first:steps:count:errors:best:_:exactErrors:)`` for when that gives
  ///     torch's choices).
  ///   - subset: compute only these parameters' entries (the others are 0), where
  ///     parameters are summed whole (``sumsWholeParameters(_:)``); otherwise all.
  func errorTable(
    _ values: [Float], layout: GroupLayout, args: QuantizationArgs, steps: Int,
    candidates: Candidates, powerTable: BFloat16PowerTable? = nil, sequences: BFloat16Sequences? = nil,
    fast: FastPower? = nil, subset: [Int]? = nil
  ) -> [Float] {
    let shared = (powerTable: powerTable, sequences: sequences)
    let plan = TablePlan(fast: fast, subset: subset)
    switch candidates.dtype {
    case .float32: return errorTable(values, layout, args, steps, candidates, Float32Lanes.self, (nil, nil), plan)
    case .bfloat16: return errorTable(values, layout, args, steps, candidates, BFloat16Lanes.self, shared, plan)
    case .float16: return errorTable(values, layout, args, steps, candidates, Float16Lanes.self, (nil, nil), plan)
    }
  }

  /// ``errorTable(_:layout:args:steps:candidates:powerTable:sequences:fast:subset:)``'s
  /// `fast` and `subset`.
  struct TablePlan {
    var fast: FastPower?
    var subset: [Int]?
  }

  /// What a bf16 search computes once for all its steps.
  typealias BFloat16Shared = (powerTable: BFloat16PowerTable?, sequences: BFloat16Sequences?)

  /// Whether each (step, parameter) error is one ``TorchSum`` over the whole parameter
  /// (otherwise large parameters, and a single parameter torch sums over its threads,
  /// are summed in parts).
  func sumsWholeParameters(_ layout: GroupLayout) -> Bool {
    let perParameter = Swift.max(1, layout.runCount * layout.runLength)
    let threaded = layout.count == 1 && torchThreads.ranges(summing: Self.paddedLength(layout)) != nil
    return perParameter < Self.splitThreshold && !threaded
  }

  private func errorTable<R: LaneRounding>(
    _ values: [Float], _ layout: GroupLayout, _ args: QuantizationArgs, _ steps: Int,
    _ candidates: Candidates, _ rounding: R.Type, _ shared: BFloat16Shared, _ plan: TablePlan
  ) -> [Float] {
    // The lane kernels compute in D, which is C and S unless a float32 global scale
    // promotes the scale (then the scalar quantizer takes the dtypes apart).
    let scaleInD = R.self == Float32Lanes.self || candidates.scaleDType == R.dtype
    if scaleInD, let symmetric = SymmetricIntegerQDQ<R>(args) {
      return errorTable(values, layout, steps, candidates, symmetric, R.self, shared, plan)
    }
    if scaleInD, let integer = IntegerQDQ<R>(args) {
      return errorTable(values, layout, steps, candidates, integer, R.self, shared, plan)
    }
    if R.self == Float32Lanes.self, let fp4 = FP4QDQ(args, valueDType: R.dtype) {
      return errorTable(values, layout, steps, candidates, fp4, R.self, shared, plan)
    }
    let scalar = ScalarQDQ(args, valueDType: R.dtype, scaleDType: candidates.scaleDType)
    return errorTable(values, layout, steps, candidates, scalar, R.self, shared, plan)
  }

  private func errorTable<Q: LaneQDQ, R: LaneRounding>(
    _ values: [Float], _ layout: GroupLayout, _ steps: Int, _ candidates: Candidates, _ qdq: Q,
    _ rounding: R.Type, _ shared: BFloat16Shared, _ plan: TablePlan
  ) -> [Float] {
    let (sequences, subset) = (shared.sequences, plan.subset)
    if let powerTable = shared.powerTable {
      return table(values, layout, steps, candidates, qdq, powerTable, R.self, sequences, subset)
    }
    if let fast = plan.fast, R.dtype == .float32 {
      return table(values, layout, steps, candidates, qdq, fast, R.self, sequences, subset)
    }
    // torch's `pow_(scalar)` on a bf16 or f16 tensor takes the exponent in that dtype
    // (2.4 acts as 2.40625 in bf16, as 2.400390625 in f16), then computes in float32.
    let norm = R.dtype.rounded(Float(settings.norm))
    if norm == 2 { return table(values, layout, steps, candidates, qdq, SquarePower(), R.self, sequences, subset) }
    if norm == 3 { return table(values, layout, steps, candidates, qdq, CubePower(), R.self, sequences, subset) }
    if R.dtype == .float16 {
      return table(values, layout, steps, candidates, qdq, Float16PowerTable(norm: norm), R.self, sequences, subset)
    }
    return table(values, layout, steps, candidates, qdq, TorchPower(norm: norm), R.self, sequences, subset)
  }

  /// Elements per slice of a run whose steps are evaluated together (16 KiB: stays in L1
  /// for all steps).
  static let chunkElements = 4096
  /// Parameters at least this large are summed in parallel parts, where they have more
  /// than one of ``TorchSum/blockTerms``.
  static let splitThreshold = 1 << 16
  /// Elements per work item when whole parameters are handed out.
  static let itemElements = 1 << 14

  private func table<Q: LaneQDQ, P: LanePower, R: LaneRounding>(
    _ values: [Float], _ layout: GroupLayout, _ steps: Int, _ candidates: Candidates, _ qdq: Q,
    _ power: P, _ rounding: R.Type, _ sequences: BFloat16Sequences?, _ subset: [Int]?
  ) -> [Float] {
    let count = layout.count
    // The workers write every entry directly (no serial zero-fill first), except those
    // outside a subset.
    let table = [Float](unsafeUninitializedCapacity: steps * count) { out, initialized in
      if subset != nil { out.initialize(repeating: 0) }
      values.withUnsafeBufferPointer { buffer in
        // Non-nil: steps, count > 0.
        let errors = SharedPointer(out.baseAddress!)
        guard let base = buffer.baseAddress else {
          out.initialize(repeating: 0)
          return
        }
        let source = SharedPointer(base)
        if !sumsWholeParameters(layout) {
          partedParameters(source, layout, steps, candidates, qdq, power, R.self, into: errors)
        } else if let sequences, R.dtype == .bfloat16 {
          sharedTableParameters(sequences, source, layout, steps, candidates, qdq, power, R.self, into: errors)
        } else {
          wholeParameters(source, layout, steps, candidates, qdq, power, R.self, subset, into: errors)
        }
      }
      initialized = steps * count
    }
    return table
  }

  /// Calls `body` with parameter `q`'s elements as one contiguous sequence, in the order
  /// torch's flattened copy has them: the run itself, or its runs gathered with a BLOCK
  /// edge's zero padding in place (`scratch` holds at least ``paddedLength(_:)``).
  @inline(__always)
  static func withSequence<T>(
    of q: Int, _ layout: GroupLayout, _ source: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    _ body: (UnsafePointer<Float>, Int) -> T
  ) -> T {
    if layout.runCount == 1 && layout.block == nil {
      var run = (0, 0)
      layout.forEachRun(of: q) { start, length in run = (start, length) }
      return body(source + run.0, run.1)
    }
    let width = layout.block?.width ?? layout.runLength
    let n = paddedLength(layout)
    scratch.update(repeating: 0, count: n)
    var row = 0
    layout.forEachRun(of: q) { start, length in
      (scratch + row * width).update(from: source + start, count: length)
      row += 1
    }
    return body(scratch, n)
  }

  /// The length of a parameter's sequence, BLOCK padding included.
  static func paddedLength(_ layout: GroupLayout) -> Int {
    if let b = layout.block { return b.height * b.width }
    return layout.runCount * layout.runLength
  }

  /// Small parameters: blocks of whole parameters per work item; each (step, parameter)
  /// error is one ``TorchSum`` over the parameter's sequence.
  private func wholeParameters<Q: LaneQDQ, P: LanePower, R: LaneRounding>(
    _ source: SharedPointer<Float>, _ layout: GroupLayout, _ steps: Int, _ candidates: Candidates,
    _ qdq: Q, _ power: P, _ rounding: R.Type, _ subset: [Int]?, into errors: SharedPointer<Float>
  ) {
    let count = layout.count
    let perParameter = Self.paddedLength(layout)
    let perItem = Swift.max(1, Self.itemElements / Swift.max(1, perParameter))
    let listed = subset?.count ?? count
    let items = (listed + perItem - 1) / perItem
    let wide = WideMSETerms(qdq, power, R.self)
    ForkJoin.forEach(items, parallel: runsInParallel) { item in
      var scales = [Float](repeating: 0, count: steps)
      var zeros = [Float](repeating: 0, count: steps)
      var sums = [TorchSum](repeating: TorchSum(count: 0, dtype: R.dtype), count: steps)
      var gathered = [Float](repeating: 0, count: layout.runCount > 1 || layout.block != nil ? perParameter : 0)
      // The wide row sums' terms, allocated once per item rather than once per parameter.
      var terms = [Float](repeating: 0, count: wide == nil ? 0 : WideMSETerms.scratchCount(perParameter))
      terms.withUnsafeMutableBufferPointer { terms in
      scales.withUnsafeMutableBufferPointer { scales in
        zeros.withUnsafeMutableBufferPointer { zeros in
          sums.withUnsafeMutableBufferPointer { sums in
            gathered.withUnsafeMutableBufferPointer { gathered in
              // Non-nil: steps > 0; a 0-capacity scratch is never written.
              let (sp, zp, out) = (scales.baseAddress!, zeros.baseAddress!, sums.baseAddress!)
              let scratch = gathered.baseAddress ?? UnsafeMutablePointer(bitPattern: 8)!
              for k in (item * perItem)..<Swift.min(listed, (item + 1) * perItem) {
                let q = subset?[k] ?? k
                for i in 0..<steps { (sp[i], zp[i]) = candidates.parameters(step: i, q) }
                let summed = Self.withSequence(of: q, layout, source.readOnly, scratch: scratch) { p, n in
                  // Whole rows of float32 terms (see ``WideMSETerms/rowTotals``).
                  if let wide, R.dtype == .float32, let rows = TorchSum.rowsWithoutCascade(n, dtype: .float32) {
                    // Non-nil: allocated whenever `wide` is; n is perParameter.
                    wide.rowTotals(p, rows: rows, steps: steps, scales: sp, zeros: zp, scratch: terms.baseAddress!) {
                      i, total in errors[i * count + q] = total
                    }
                    return false
                  }
                  for i in 0..<steps { out[i].reset(count: n, dtype: R.dtype) }
                  Self.sliceErrors(p, 0..<n, steps: steps, scales: sp, zeros: zp, qdq, power, R.self, wide, into: out)
                  return true
                }
                // torch's sum rounds once, to D.
                if summed {
                  for i in 0..<steps { errors[i * count + q] = R.dtype.rounded(out[i].total()) }
                }
              }
            }
          }
        }
      }
      }
    }
  }

  /// Large parameters, and a single parameter that torch sums over its threads: each
  /// error is the torch-ordered sum of the parameter's sequence, or of each thread's
  /// piece combined as torch's second pass does (``TorchThreads``).
  private func partedParameters<Q: LaneQDQ, P: LanePower, R: LaneRounding>(
    _ source: SharedPointer<Float>, _ layout: GroupLayout, _ steps: Int, _ candidates: Candidates,
    _ qdq: Q, _ power: P, _ rounding: R.Type, into errors: SharedPointer<Float>
  ) {
    let count = layout.count
    let n = Self.paddedLength(layout)
    let pieces = count == 1 ? torchThreads.ranges(summing: n) : nil
    // Gathered sequences of multi-run parameters, one at a time per parameter.
    let direct = layout.runCount == 1 && layout.block == nil
    var gathered = [Float](repeating: 0, count: direct ? 0 : n)
    var scales = [Float](repeating: 0, count: steps)
    var zeros = [Float](repeating: 0, count: steps)
    for q in 0..<count {
      for i in 0..<steps { (scales[i], zeros[i]) = candidates.parameters(step: i, q) }
      let reach = candidates.magnitude(q)
      let totals = gathered.withUnsafeMutableBufferPointer { gathered in
        let scratch = gathered.baseAddress ?? UnsafeMutablePointer(bitPattern: 8)!
        return Self.withSequence(of: q, layout, source.readOnly, scratch: scratch) { p, _ in
          scales.withUnsafeBufferPointer { sp in
            zeros.withUnsafeBufferPointer { zp in
              // Non-nil: steps > 0.
              let (sp, zp) = (sp.baseAddress!, zp.baseAddress!)
              let parts = pieces ?? [0..<n]
              let totals: [[Float]]
              if n >= Self.tabulationThreshold && R.dtype == .bfloat16 {
                totals = tabulatedTotals(p, parts, steps, sp, zp, reach, qdq, power, R.self, BFloat16Keys.self)
              } else if n >= Self.tabulationThreshold && R.dtype == .float16 {
                totals = tabulatedTotals(p, parts, steps, sp, zp, reach, qdq, power, R.self, Float16Keys.self)
              } else {
                totals = parts.map { sequenceTotals(p + $0.lowerBound, $0.count, steps, sp, zp, qdq, power, R.self) }
              }
              guard pieces != nil else { return totals[0] }
              // torch's partials are rounded to D, then summed by its second pass.
              let partials = totals.map { $0.map(R.dtype.rounded) }
              return (0..<steps).map { i in torchThreads.combining(partials.map { $0[i] }, dtype: R.dtype) }
            }
          }
        }
      }
      for i in 0..<steps { errors[i * count + q] = R.dtype.rounded(totals[i]) }
    }
  }

  /// The float32 sum of each step's terms over a sequence of `n`, in torch's order: the
  /// sequence is cut into ``TorchSum``'s independent blocks, which are summed in parallel
  /// and merged in order.
  func sequenceTotals<Q: LaneQDQ, P: LanePower, R: LaneRounding>(
    _ p: UnsafePointer<Float>, _ n: Int, _ steps: Int, _ scales: UnsafePointer<Float>,
    _ zeros: UnsafePointer<Float>, _ qdq: Q, _ power: P, _ rounding: R.Type
  ) -> [Float] {
    let shape = TorchSum(count: n, dtype: R.dtype)
    let rowsEnd = shape.rowLoads * shape.loadWidth
    let partStarts = Array(stride(from: 0, to: Swift.max(rowsEnd, 1), by: shape.blockTerms))
    let parts = partStarts.count
    var partSums = [TorchSum](repeating: shape, count: parts * steps)
    let (sequence, sp, zp) = (SharedPointer(UnsafeMutablePointer(mutating: p)), SharedPointer(UnsafeMutablePointer(mutating: scales)), SharedPointer(UnsafeMutablePointer(mutating: zeros)))
    let wide = WideMSETerms(qdq, power, R.self)
    partSums.withUnsafeMutableBufferPointer { buffer in
      // Non-nil: steps > 0, parts ≥ 1.
      let slots = SharedPointer(buffer.baseAddress!)
      ForkJoin.forEach(parts, parallel: runsInParallel) { k in
        let start = partStarts[k]
        let end = k + 1 < parts ? partStarts[k + 1] : n
        let sums = slots.base + k * steps
        for i in 0..<steps { sums[i].reset(count: n, dtype: R.dtype, startingAt: start) }
        Self.sliceErrors(
          sequence.readOnly, start..<end, steps: steps, scales: sp.readOnly, zeros: zp.readOnly, qdq, power,
          R.self, wide, into: sums)
      }
    }
    return (0..<steps).map { i in
      var merged = TorchSum.merging((0..<parts).map { partSums[$0 * steps + i] })
      return merged.total()
    }
  }

  /// Adds Σ |QDQ(x) - x|^norm over `range` of a sequence to `sums[i]`, for every step i
  /// with its scale and zero point, slice by slice of ``chunkElements`` (each slice for
  /// all steps while it is in L1): with `wide`, the kernel for these lanes
  /// (`WideMSETerms(qdq, power, R.self)`, which callers make once rather than once per
  /// parameter or slice: for f16 it casts the power and retains its table), else with
  /// the portable lanes.
  @inline(__always)
  static func sliceErrors<Q: LaneQDQ, P: LanePower, R: LaneRounding>(
    _ p: UnsafePointer<Float>, _ range: Range<Int>, steps: Int, scales: UnsafePointer<Float>,
    zeros: UnsafePointer<Float>, _ qdq: Q, _ power: P, _ rounding: R.Type, _ wide: WideMSETerms?,
    into sums: UnsafeMutablePointer<TorchSum>
  ) {
    var start = range.lowerBound
    while start < range.upperBound {
      let length = Swift.min(chunkElements, range.upperBound - start)
      if let wide {
        wide.addSums(p + start, length, steps: steps, scales: scales, zeros: zeros, into: sums)
      } else {
        stepSums(p + start, length, steps: steps, scales: scales, zeros: zeros, qdq, power, R.self, into: sums)
      }
      start += length
    }
  }

  /// |QDQ(x) - x| lane-wise, in D: `fake_quantize(...).to(D)`, then `q -= x` and
  /// `q.abs_()` on the D tensor.
  @inline(__always)
  static func difference<Q: LaneQDQ, R: LaneRounding>(
    _ x: Lanes, _ s: Lanes, _ zp: Lanes, _ scale: Float, _ zeroPoint: Float, _ qdq: Q, _ rounding: R.Type
  ) -> Lanes {
    var out = qdq.qdq(x, scale: s, zeroPoint: zp, scalarScale: scale, scalarZeroPoint: zeroPoint)
    if !qdq.returnsValueDType { out = R.round(out) }
    return Lanes(bits: R.round(out - x).bits & LaneBits(repeating: 0x7FFF_FFFF))
  }

  /// Vectors per block of the pipelined loop below.
  static let blockVectors = 8

  /// The run's terms for all steps, one pass per step over the (L1-resident) run, each
  /// step's terms added in order to its ``TorchSum``.
  ///
  /// Software-pipelined over the sequence of (step, vector) tasks: each iteration runs
  /// the power's first stage for task k, its middle stage for task k - 1 and its last
  /// stage for task k - 2 — three different dependency chains the core can overlap (one
  /// vector's chain alone is far longer than an iteration). The pipeline fills once per
  /// run and carries over from step to step: the first block of iterations of step i
  /// (two iterations) finishes step i - 1's last two vectors. The step's ragged tail, if
  /// any, follows its vectors.
  ///
  /// Kept out of line, with exactly one copy of each stage per loop: inlined into the
  /// callers' loops, or with two copies of a stage side by side (as an unrolled pipeline
  /// fill or drain would have), the optimizer regroups the vectors' lanes into partly
  /// scalar code. Hence the fill and drain loops below, whose trip counts the optimizer
  /// cannot bound (see `opaqueTwo`) so it does not unroll them.
  @inline(never)
  static func stepSums<Q: LaneQDQ, P: LanePower, R: LaneRounding>(
    _ p: UnsafePointer<Float>, _ n: Int, steps: Int, scales: UnsafePointer<Float>,
    zeros: UnsafePointer<Float>, _ qdq: Q, _ power: P, _ rounding: R.Type,
    into sums: UnsafeMutablePointer<TorchSum>
  ) {
    let width = Lanes.scalarCount
    let raw = UnsafeRawPointer(p)
    let vectors = n / width
    if vectors >= 2 && steps > 0 {
      // Each step's terms go to one of two slots, and from there into its sum once the
      // step is complete (a step's last two vectors finish during the next step's start).
      withUnsafeTemporaryAllocation(of: Lanes.self, capacity: 2 &* vectors) { slots in
        // Non-nil: capacity ≥ 4.
        pipelinedSums(raw, vectors, steps: steps, scales: scales, zeros: zeros, qdq, power, R.self, terms: slots.baseAddress!, into: sums)
      }
    }
    if vectors == 1 {
      singleVectorSums(raw, steps: steps, scales: scales, zeros: zeros, qdq, power, R.self, into: sums)
    }
    if vectors &* width < n {
      raggedTailSums(p, n, from: vectors &* width, steps: steps, scales: scales, zeros: zeros, qdq, power, R.self, into: sums)
    }
  }

  /// The pipelined loop of ``stepSums(_:_:steps:scales:zeros:_:_:_:into:)`` over a run's
  /// `vectors` (≥ 2) full vectors; step i's terms are written to `terms[(i % 2) · vectors…]`.
  @inline(__always)
  static func pipelinedSums<Q: LaneQDQ, P: LanePower, R: LaneRounding>(
    _ raw: UnsafeRawPointer, _ vectors: Int, steps: Int, scales: UnsafePointer<Float>,
    zeros: UnsafePointer<Float>, _ qdq: Q, _ power: P, _ rounding: R.Type,
    terms: UnsafeMutablePointer<Lanes>, into sums: UnsafeMutablePointer<TorchSum>
  ) {
    let width = Lanes.scalarCount
    let runTerms = vectors &* width
    // 2 for any real run (vectors < 2^42), but not provably so.
    let opaqueTwo = 2 &+ (vectors &>> 42)
    var s = Lanes(repeating: scales[0])
    var zp = Lanes(repeating: zeros[0])
    var first = (Lanes(), Lanes())
    var second = (Lanes(), Lanes())
    // Fill: begin step 0's vectors 0 and 1 (the first middle stage works on zeros and
    // is discarded).
    var j = 0
    while j < opaqueTwo {
      second = power.middle(first)
      let x = raw.loadUnaligned(fromByteOffset: j &* width &* 4, as: Lanes.self)
      first = power.begin(difference(x, s, zp, scales[0], zeros[0], qdq, R.self))
      j &+= 1
    }
    for i in 0..<steps {
      let (scale, zeroPoint) = (scales[i], zeros[i])
      s = Lanes(repeating: scale)
      zp = Lanes(repeating: zeroPoint)
      j = i == 0 ? 2 : 0
      while j < vectors {
        // The block starting a step finishes the previous step's last two vectors.
        let boundary = j == 0
        let end = boundary ? 2 : Swift.min(vectors, j &+ blockVectors)
        // Vector j finishes vector j - 2 of this step, or at a boundary vector
        // vectors - 2 + j of the previous one.
        let out = terms + (boundary ? ((i &- 1) & 1) &* vectors &+ vectors &- 2 : (i & 1) &* vectors &- 2)
        // Inner trip count not a constant, so the loop is not unrolled into copies.
        while j < end {
          let x = raw.loadUnaligned(fromByteOffset: j &* width &* 4, as: Lanes.self)
          let nextFirst = power.begin(difference(x, s, zp, scale, zeroPoint, qdq, R.self))
          let nextSecond = power.middle(first)
          out[j] = power.term(second, R.self)
          first = nextFirst
          second = nextSecond
          j &+= 1
        }
        if boundary {
          let previous = UnsafeRawPointer(terms + ((i &- 1) & 1) &* vectors)
          sums[i &- 1].add(contentsOf: previous.assumingMemoryBound(to: Float.self), count: runTerms)
        }
      }
    }
    // Drain: the last step's last two vectors (the second middle stage repeats one,
    // discarded).
    let last = terms + ((steps &- 1) & 1) &* vectors
    var d = 0
    while d < opaqueTwo {
      last[vectors &- 2 &+ d] = power.term(second, R.self)
      second = power.middle(first)
      d &+= 1
    }
    sums[steps &- 1].add(contentsOf: UnsafeRawPointer(last).assumingMemoryBound(to: Float.self), count: runTerms)
  }

  /// ``stepSums(_:_:steps:scales:zeros:_:_:_:into:)`` for a run of exactly one vector: no
  /// pipeline, each step's three power stages back to back.
  static func singleVectorSums<Q: LaneQDQ, P: LanePower, R: LaneRounding>(
    _ raw: UnsafeRawPointer, steps: Int, scales: UnsafePointer<Float>, zeros: UnsafePointer<Float>,
    _ qdq: Q, _ power: P, _ rounding: R.Type, into sums: UnsafeMutablePointer<TorchSum>
  ) {
    for i in 0..<steps {
      let s = Lanes(repeating: scales[i])
      let zp = Lanes(repeating: zeros[i])
      let x = raw.loadUnaligned(as: Lanes.self)
      let d = difference(x, s, zp, scales[i], zeros[i], qdq, R.self)
      sums[i].add(power.term(power.middle(power.begin(d)), R.self))
    }
  }

  /// The ragged tail of a run, elements `full..<n` (fewer than a vector), zero-padded to
  /// a vector; only its real terms are added.
  static func raggedTailSums<Q: LaneQDQ, P: LanePower, R: LaneRounding>(
    _ p: UnsafePointer<Float>, _ n: Int, from full: Int, steps: Int, scales: UnsafePointer<Float>,
    zeros: UnsafePointer<Float>, _ qdq: Q, _ power: P, _ rounding: R.Type, into sums: UnsafeMutablePointer<TorchSum>
  ) {
    var tail = Lanes()
    for k in 0..<(n &- full) { tail[k] = p[full &+ k] }
    for i in 0..<steps {
      let s = Lanes(repeating: scales[i])
      let zp = Lanes(repeating: zeros[i])
      let d = difference(tail, s, zp, scales[i], zeros[i], qdq, R.self)
      let t = power.term(power.middle(power.begin(d)), R.self)
      for k in 0..<(n &- full) { sums[i].add(scalar: t[k]) }
    }
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
  /// D: the values' dtype.
  let dtype: FloatDType
  /// The dtype of the effective scales: D, or float32 under a (float32) global scale.
  let scaleDType: FloatDType

  init(
    args: QuantizationArgs, globalScale: Float?, optimizingGlobalScale: Bool, factors: [Float],
    rawMin: [Float], rawMax: [Float], dtype: FloatDType = .float32
  ) {
    self.args = args
    self.globalScale = globalScale
    self.optimizingGlobalScale = optimizingGlobalScale
    kernel = QParamKernel(args, globalScale: globalScale, dtype: dtype)
    self.factors = factors
    self.rawMin = rawMin
    self.rawMax = rawMax
    self.dtype = dtype
    scaleDType = globalScale == nil && !optimizingGlobalScale ? dtype : .float32
  }

  /// The largest |x| of parameter `q`.
  @inline(__always)
  func magnitude(_ q: Int) -> Float { Swift.max(rawMin[q].magnitude, rawMax[q].magnitude) }

  /// The effective scale (`s / g` under a global scale) and zero point of step `i`'s
  /// candidate range for parameter `q`.
  @inline(__always)
  func parameters(step i: Int, _ q: Int) -> (Float, Float) {
    let p = factors[i]
    // `p * min_val` with a Python float p: float32 product, rounded to D.
    let smn = dtype.rounded(p * rawMin[q])
    let smx = dtype.rounded(p * rawMax[q])
    if optimizingGlobalScale {
      let g = GlobalScale.generate(min: smn, max: smx, dtype: dtype)
      let (s, zp) = QParamKernel(args, globalScale: g, dtype: dtype).scaleAndZeroPoint(min: smn, max: smx)
      return (s / g, zp)
    }
    let (s, zp) = kernel.scaleAndZeroPoint(min: smn, max: smx)
    return (globalScale.map { s / $0 } ?? s, zp)
  }
}
