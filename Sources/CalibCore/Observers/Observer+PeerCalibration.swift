extension Observer {
  /// The layout of `value` for a calibrator from another toolkit that supports only
  /// `strategies`; any other strategy is refused with `refusal`, the source's reason,
  /// followed by the strategy asked for.
  func peerLayout(of value: Tensor, strategies: Set<QuantizationStrategy>, refusal: String) throws -> GroupLayout {
    guard strategies.contains(args.strategy) else {
      throw ObserverError.unsupported(observer: kind.rawValue, reason: "\(refusal), not \(args.strategy.rawValue)")
    }
    do {
      return try GroupLayout(shape: value.shape, baseName: baseName, args: args)
    } catch let e as LayoutError {
      throw ObserverError.layout(e)
    }
  }

  /// `calculate_qparams` of one range that a calibrator computed in float32: in model
  /// arithmetic the range is first rounded to the value's `dtype`, as the model would
  /// hold it, and the parameters are computed in that dtype.
  func peerParameters(range: (Float, Float), shape: [Int], dtype: FloatDType) throws -> QuantizationParameters {
    do {
      return try args.quantizationParameters(
        min: Tensor(shape: shape, values: [dtype.rounded(range.0)], dtype: dtype),
        max: Tensor(shape: shape, values: [dtype.rounded(range.1)], dtype: dtype), parallel: runsInParallel)
    } catch let e as QuantizationArgsError {
      throw ObserverError.arguments(e)
    }
  }

  /// ``peerParameters(range:shape:dtype:)`` for one range per parameter (`lows[i]`,
  /// `highs[i]`), each rounded to `dtype` first.
  func peerParameters(lows: [Float], highs: [Float], shape: [Int], dtype: FloatDType) throws -> QuantizationParameters {
    do {
      return try args.quantizationParameters(
        min: Tensor(shape: shape, values: lows.map(dtype.rounded), dtype: dtype),
        max: Tensor(shape: shape, values: highs.map(dtype.rounded), dtype: dtype), parallel: runsInParallel)
    } catch let e as QuantizationArgsError {
      throw ObserverError.arguments(e)
    }
  }

  /// The minimum and maximum of the whole value (its ``Tensor/knownRange`` when a reader
  /// computed it); a value holding NaN or ±∞ is refused, as by every observer.
  func finiteRange(of value: Tensor) throws -> (Float, Float) {
    let range = RangeReduction.range(of: value, parallel: runsInParallel)
    guard range.min.isFinite && range.max.isFinite else { throw ObserverError.nonFinite(in: value) }
    return (range.min, range.max)
  }
}
