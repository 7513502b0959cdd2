/// The weight searches of newer llm-compressor (0.14.0.1; equal to main at `ab1ba3e` on
/// the CPU path, where neither Triton nor `torch.compile` runs): `nvfp4_expanded_mse`
/// (`observers/mse.py` + `mse_quant.py` `_grid_search_mse`) and `imatrix_mse`
/// (`observers/imatrix.py` `_grid_search`).
///
/// Both start from the expanded range `(mn₀, mx₀) = (r(e · amin), r(e · amax))` per
/// parameter (`e = expand`, r rounds to the values' dtype D), and both search **without**
/// a global scale: for TENSOR_GROUP the candidate scales are `calculate_qparams` with
/// `scale_dtype` dropped (no FP8 rounding) and no global scale. The global scale is then
/// derived from the searched range by the caller (``Observer``).
/// ```
///                      nvfp4_expanded_mse                    imatrix_mse
/// steps i              0 ..< int(maxshrink·grid)             0 ... max(1, int(maxshrink·grid))
/// candidate            r(p·mn₀), r(p·mx₀), p = f32(1 - i/grid)    (same)
/// error                Σ r(|r(QDQ(x)) - x|^norm), in D       Σ f32(|QDQ(x) - x|^norm · w[col]), float32
/// best error start     finfo(D).max                          finfo(float32).max
/// stop                 patience steps without improvement    same, but never when patience = 0
/// ```
/// `w` is ``InputImportance/normalizedWeights()`` by input column, or 1 (no multiply)
/// when imatrix_mse falls back to its unweighted search. A parameter adopts a candidate
/// when its error is strictly smaller than its best (ties keep the earlier, wider range),
/// and one that never improves keeps `(mn₀, mx₀)`.
///
/// Precision: nvfp4_expanded_mse is ``MSEGridSearch`` on the expanded range (see there).
/// imatrix_mse: QDQ in D exactly as torch, then `.float()`; the difference, power and
/// weighting in float32 (`d·d` for norm 2, `(d·d)·d` for norm 3 as torch's pow kernel,
/// else torch's vectorized power, ``TorchPower``), each
/// parameter's terms summed in torch's float32 order (``TorchFloatSum/innerSum(_:)``; a
/// parameter of several runs, which weights never have, is summed as one row).
/// NaN policy: callers refuse non-finite values before searching.
/// Determinism: errors are computed per parameter, so no result depends on the thread
/// count. Complexity: O(n · steps evaluated).
struct ExpandedMSESearch: Sendable {
  let kind: ObserverKind
  let settings: ObserverSettings
  var runsInParallel = true

  /// The searched (min, max) per parameter of `layout`, in `dtype`.
  ///
  /// - Parameter weights: imatrix_mse's weight per input column (`columns` of them), or
  ///   `nil` for its unweighted search; ignored by nvfp4_expanded_mse.
  func search(
    _ values: [Float], layout: GroupLayout, args: QuantizationArgs, dtype: FloatDType, weights: [Float]?,
    columns: Int
  ) throws -> (min: [Float], max: [Float]) {
    var searchArgs = args
    if args.strategy == .tensorGroup { searchArgs.scaleDType = nil }
    let (amin, amax) = RangeReduction.minMax(values, layout: layout, parallel: runsInParallel)
    let e = Float(settings.expand)
    let rawMin = amin.map { dtype.rounded($0 * e) }
    let rawMax = amax.map { dtype.rounded($0 * e) }
    if kind == .nvfp4ExpandedMSE {
      var grid = MSEGridSearch(settings: settings)
      grid.runsInParallel = runsInParallel
      return try grid.search(
        values, layout: layout, args: searchArgs, globalScale: nil, optimizingGlobalScale: false, rawMin: rawMin,
        rawMax: rawMax, dtype: dtype)
    }
    if !args.symmetric && args.isFP4 { throw QuantizationArgsError.asymmetricFP4 }
    return weightedSearch(
      values, layout: layout, args: searchArgs, dtype: dtype, rawMin: rawMin, rawMax: rawMax, weights: weights,
      columns: columns)
  }

  /// imatrix_mse's `_grid_search` on the expanded range (see the type's notes).
  private func weightedSearch(
    _ values: [Float], layout: GroupLayout, args: QuantizationArgs, dtype: FloatDType, rawMin: [Float],
    rawMax: [Float], weights: [Float]?, columns: Int
  ) -> (min: [Float], max: [Float]) {
    let count = layout.count
    let steps = Swift.max(1, settings.searchSteps)
    var best = [Float](repeating: .greatestFiniteMagnitude, count: count)
    var bestMin = rawMin
    var bestMax = rawMax
    var stale = 0.0
    for i in 0...steps {
      let candidates = Candidates(
        args: args, globalScale: nil, optimizingGlobalScale: false, factors: [settings.shrinkFactor(i)],
        rawMin: rawMin, rawMax: rawMax, dtype: dtype)
      let errors = stepErrors(values, layout: layout, args: args, candidates: candidates, weights: weights, columns: columns)
      var improved = false
      for q in 0..<count where errors[q] < best[q] {
        best[q] = errors[q]
        bestMin[q] = dtype.rounded(candidates.factors[0] * rawMin[q])
        bestMax[q] = dtype.rounded(candidates.factors[0] * rawMax[q])
        improved = true
      }
      if improved {
        stale = 0
      } else {
        stale += 1
        if settings.patience > 0 && stale >= settings.patience { break }
      }
    }
    return (bestMin, bestMax)
  }

  /// Parameters per work item of one step's errors.
  static let itemParameters = 64

  /// One step's error per parameter: Σ over its elements of `f32(|QDQ(x) - x|^norm · w)`.
  private func stepErrors(
    _ values: [Float], layout: GroupLayout, args: QuantizationArgs, candidates: Candidates, weights: [Float]?,
    columns: Int
  ) -> [Float] {
    let count = layout.count
    let quantizer = FakeQuantizer(args, valueDType: candidates.dtype, scaleDType: candidates.scaleDType)
    let power = Self.power(norm: Float(settings.norm))
    let items = (count + Self.itemParameters - 1) / Self.itemParameters
    var errors = [Float](repeating: 0, count: count)
    errors.withUnsafeMutableBufferPointer { out in
      values.withUnsafeBufferPointer { x in
        // Non-nil: count > 0 whenever there is an item to run.
        guard let outBase = out.baseAddress, let xBase = x.baseAddress else { return }
        let (errorsOut, source) = (SharedPointer(outBase), SharedPointer(xBase))
        ForkJoin.forEach(items, parallel: runsInParallel) { item in
          for q in (item * Self.itemParameters)..<Swift.min(count, (item + 1) * Self.itemParameters) {
            let (s, zp) = candidates.parameters(step: 0, q)
            var terms: [Float] = []
            layout.forEachRun(of: q) { start, length in
              for k in start..<(start + length) {
                let v = source.readOnly[k]
                let term = power(abs(quantizer.qdq(v, effectiveScale: s, zeroPoint: zp) - v))
                terms.append(weights.map { term * $0[k % columns] } ?? term)
              }
            }
            errorsOut[q] = terms.withUnsafeBufferPointer(TorchFloatSum.innerSum)
          }
        }
      }
    }
    return errors
  }

  /// torch's float32 `pow_(norm)`: products for 2 and 3, its vectorized power otherwise
  /// (``TorchPower``).
  static func power(norm: Float) -> @Sendable (Float) -> Float {
    if norm == 2 { return { $0 * $0 } }
    if norm == 3 { return { $0 * $0 * $0 } }
    return { TorchPower.power($0, norm) }
  }
}
