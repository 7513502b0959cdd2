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
/// Precision: each element's error is computed in float32 as torch does (`d · d` for
/// norm 2, `powf` otherwise) and summed in double, then rounded to float32 for the
/// comparison. torch sums in a blocked float32 order, so an error can differ in its last
/// bits and a near-tie may pick the neighbouring shrink factor.
///
/// NaN policy: callers refuse non-finite values before searching.
/// Determinism: the result does not depend on thread count or evaluation order.
/// Complexity: O(n · steps); every parameter's elements are read once per chunk and
/// reused for all steps while in cache.
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

    // Candidate parameters for every (step, q): effective scale and zero point.
    var shrunkMin = [Float](repeating: 0, count: steps * count)
    var shrunkMax = [Float](repeating: 0, count: steps * count)
    var effective = [Float](repeating: 0, count: steps * count)
    var zeros = [Float](repeating: 0, count: steps * count)
    let plainKernel = QParamKernel(args, globalScale: globalScale)
    for i in 0..<steps {
      let p = settings.shrinkFactor(i)
      for q in 0..<count {
        let k = i * count + q
        let smn = p * rawMin[q]
        let smx = p * rawMax[q]
        shrunkMin[k] = smn
        shrunkMax[k] = smx
        let g = optimizingGlobalScale ? GlobalScale.generate(min: smn, max: smx) : globalScale
        let kernel = optimizingGlobalScale ? QParamKernel(args, globalScale: g) : plainKernel
        let (s, zp) = kernel.scaleAndZeroPoint(min: smn, max: smx)
        effective[k] = g.map { s / $0 } ?? s
        zeros[k] = zp
      }
    }

    let errors = errorTable(
      values, layout: layout, args: args, steps: steps, effective: effective, zeros: zeros)

    var bestError = [Float](repeating: .greatestFiniteMagnitude, count: count)
    var bestMin = rawMin
    var bestMax = rawMax
    var stale = 0.0
    for i in 0..<steps {
      var improved = false
      for q in 0..<count {
        let e = errors[i * count + q]
        if e < bestError[q] {
          bestError[q] = e
          bestMin[q] = shrunkMin[i * count + q]
          bestMax[q] = shrunkMax[i * count + q]
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

  /// Σ |QDQ(x) - x|^norm for every (step, parameter), as float32.
  func errorTable(
    _ values: [Float], layout: GroupLayout, args: QuantizationArgs, steps: Int,
    effective: [Float], zeros: [Float]
  ) -> [Float] {
    let count = layout.count
    let quantizer = FakeQuantizer(args)
    let norm = Float(settings.norm)
    let squared = norm == 2
    var table = [Float](repeating: 0, count: steps * count)
    var sums = [Double](repeating: 0, count: steps)
    let chunk = 2048
    values.withUnsafeBufferPointer { buffer in
      guard let base = buffer.baseAddress else { return }
      for q in 0..<count {
        for i in 0..<steps { sums[i] = 0 }
        layout.forEachRun(of: q) { start, length in
          var offset = 0
          while offset < length {
            let n = Swift.min(chunk, length - offset)
            let p = base + start + offset
            for i in 0..<steps {
              let s = effective[i * count + q]
              let zp = zeros[i * count + q]
              var acc = 0.0
              for j in 0..<n {
                let x = p[j]
                let d = (quantizer.qdq(x, effectiveScale: s, zeroPoint: zp) - x).magnitude
                acc += Double(squared ? d * d : powf(d, norm))
              }
              sums[i] += acc
            }
            offset += n
          }
        }
        for i in 0..<steps { table[i * count + q] = Float(sums[i]) }
      }
    }
    return table
  }
}
