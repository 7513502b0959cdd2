extension Observer {
  /// One step of nvidia-modelopt's `MaxCalibrator` (`modelopt/torch/quantization/calib/max.py`,
  /// nvidia-modelopt 0.47.0): `amax = max |x|` per parameter (`reduce_amax` over every axis
  /// but the quantization axis), kept as the running elementwise maximum over steps
  /// (`torch.max(old, new)`); the range handed to `calculate_qparams` is `(-amax, amax)`.
  ///
  /// Parameters are those of the strategy: one per tensor (`axis=None`), per output
  /// channel (`axis=0` on a weight), or per group. TENSOR_GROUP and the other strategies
  /// are refused.
  /// Precision: max and abs are exact, so the range is the same in both arithmetics; in
  /// model arithmetic it is tagged with the value's dtype and `calculate_qparams` runs in
  /// it. Deterministic and order-independent.
  /// NaN policy: values holding NaN or ±∞ are refused, leaving the state unchanged (the
  /// source asserts on them).
  mutating func observeModelOptMax(_ value: Tensor) throws -> QuantizationParameters {
    let layout = try peerLayout(
      of: value, strategies: [.tensor, .channel, .group],
      refusal: "MaxCalibrator has one amax per tensor, channel or group: use one of those strategies")
    let (mn, mx) = RangeReduction.minMax(value.values, layout: layout, parallel: runsInParallel)
    if RangeReduction.containsNonFinite(mn, mx) { throw ObserverError.nonFinite(in: value) }
    var amax = zip(mn, mx).map { Swift.max(abs($0), abs($1)) }
    if let old = state.maxValues {
      guard old.shape == layout.qparamShape else {
        throw ObserverError.shapeChanged(running: old.shape, observed: layout.qparamShape)
      }
      amax = zip(old.values, amax).map { Swift.max($0, $1) }
    }
    let shape = layout.qparamShape
    let negated = amax.map { -$0 }
    let parameters: QuantizationParameters
    do {
      parameters = try args.quantizationParameters(
        min: Tensor(shape: shape, values: negated, dtype: value.dtype),
        max: Tensor(shape: shape, values: amax, dtype: value.dtype), parallel: runsInParallel)
    } catch let e as QuantizationArgsError {
      throw ObserverError.arguments(e)
    }
    state.minValues = Tensor(shape: shape, values: negated)
    state.maxValues = Tensor(shape: shape, values: amax)
    return parameters
  }
}

extension Observer {
  /// One step of nvidia-modelopt's `HistogramCalibrator` followed by
  /// `compute_amax("percentile")` (see ``ModelOptCalibration``): the running |x| histogram
  /// is kept in ``ObserverState/histogram``, and the range `(-amax, amax)` goes through
  /// `calculate_qparams`.
  ///
  /// Per tensor only: the source raises `NotImplementedError` for an axis.
  /// Precision: float32 on the samples' exact values in both arithmetics (the source casts
  /// to float32); in model arithmetic the range is tagged with the samples' dtype after
  /// rounding to it. NaN policy: values holding NaN or ±∞ are refused.
  mutating func observeModelOptPercentile(_ value: Tensor) throws -> QuantizationParameters {
    let name = kind.rawValue
    let layout = try peerLayout(
      of: value, strategies: [.tensor], refusal: "HistogramCalibrator only supports per-tensor scaling: use strategy tensor")
    let peer = settings.peer
    let (mn, mx) = try finiteRange(of: value)
    let (histogram, range): (CalibrationHistogram, (Float, Float)) = try value.values.withUnsafeBufferPointer { x in
      let h = try ModelOptCalibration.collect(
        state.histogram, x, mn: mn, mx: mx, bins: peer.numBins, skipZeros: peer.skipZeros, observer: name,
        parallel: runsInParallel)
      return (h, try ModelOptCalibration.percentileRange(h, percentile: peer.percentile, observer: name))
    }
    let shape = layout.qparamShape
    let parameters = try peerParameters(range: range, shape: shape, dtype: value.dtype)
    state.histogram = histogram
    state.minValues = Tensor(shape: shape, values: [range.0])
    state.maxValues = Tensor(shape: shape, values: [range.1])
    return parameters
  }
}
