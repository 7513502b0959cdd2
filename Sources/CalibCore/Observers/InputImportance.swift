/// imatrix_mse's per-input-channel importance E[x²] of a Linear module's inputs
/// (llm-compressor 0.14.0.1 `observers/imatrix.py`, `IMatrixMSEObserver.attach`'s
/// forward-pre hook; equal to main at `ab1ba3e`).
///
/// Each input `x` of shape `(..., C)` adds, per channel c, `Σ x²` over every token (all
/// dimensions but the last) to a float32 running sum, and its token count `∏ shape[:-1]`
/// to an int64 count:
/// ```
/// sum[c]   := f32(sum[c] + f32(Σ_tokens f32(x)²))        one add_ per input, float32
/// count    := count + tokens
/// ```
/// ``normalizedWeights()`` turns that into the search's weights as `_prepare_importance`
/// does: `imp = sum / f32(count)`, then `imp / (mean(imp) + tiny)` in float32.
///
/// Precision: float32 throughout, in torch's operation order (``TorchFloatSum``: the
/// per-channel sum of one input down its tokens, the mean along the channels), so the
/// weights are bit-identical to the source's on a CPU with AVX512 kernels. Inputs of any
/// dtype are taken at their exact float32 value (the hook casts to float32 first).
/// NaN policy: non-finite inputs are accumulated as the source does; the resulting
/// importance is then unusable (``Unusable/nonFinite``).
/// Determinism: independent of thread count; depends on the order of inputs only through
/// the float32 running sum, as in the source.
public struct InputImportance: Sendable, Equatable, Codable {
  /// The running float32 sum of x² per input channel (`_imatrix_sum`).
  public private(set) var sums: [Float]
  /// The number of tokens accumulated (`_imatrix_count`).
  public private(set) var count: Int64 = 0

  /// An empty accumulator for a module with `channels` input features (`in_features`).
  public init(channels: Int) {
    precondition(channels >= 0, "a module has a non-negative number of input channels")
    sums = [Float](repeating: 0, count: channels)
  }

  /// Adds one input to the running sums (one call of the forward-pre hook).
  ///
  /// - Throws: ``ObserverError/unsupported(observer:reason:)`` when the input's last
  ///   dimension is not the module's input channel count.
  public mutating func accumulate(_ input: Tensor) throws {
    let channels = sums.count
    guard input.shape.last == channels else {
      throw ObserverError.unsupported(
        observer: ObserverKind.imatrixMSE.rawValue,
        reason: "an input sample of shape \(input.shape) does not end in the weight's \(channels) input channels: use the module's own input samples")
    }
    if channels == 0 { return }
    let tokens = input.elementCount / channels
    let step = input.values.withUnsafeBufferPointer { x in
      TorchFloatSum.outerSums(rows: tokens, columns: channels) { t, c in
        let v = x[t * channels + c]
        return v * v
      }
    }
    for c in 0..<channels { sums[c] += step[c] }
    count += Int64(tokens)
  }

  /// Why accumulated importance cannot weight the search; the source then falls back to
  /// the unweighted search (or, with `strict`, raises).
  public enum Unusable: Error, Equatable, CustomStringConvertible {
    case noData
    case nonFinite
    case negative
    case allZero

    public var description: String {
      switch self {
      case .noData: "no importance data available"
      case .nonFinite: "the importance contains non-finite values"
      case .negative: "the importance contains negative values"
      case .allZero: "the importance is all zeros"
      }
    }
  }

  /// The weight per input channel: `imp / (mean(imp) + tiny)`, `imp = sum / f32(count)`,
  /// all float32; the mean is torch's float32 sum divided by `C`.
  ///
  /// - Throws: ``Unusable`` in the source's order of checks.
  public func normalizedWeights() throws(Unusable) -> [Float] {
    if count == 0 || sums.isEmpty { throw .noData }
    let n = Float(count)
    let imp = sums.map { $0 / n }
    if imp.contains(where: { !$0.isFinite }) { throw .nonFinite }
    if imp.contains(where: { $0 < 0 }) { throw .negative }
    if imp.allSatisfy({ $0 == 0 }) { throw .allZero }
    let mean = imp.withUnsafeBufferPointer(TorchFloatSum.innerSum) / Float(imp.count)
    let denominator = mean + Float.leastNormalMagnitude
    return imp.map { $0 / denominator }
  }
}
