extension Observer {
  /// One step of an onnxruntime calibrator (``ObserverKind/isONNXRuntime``): folds the
  /// value into the running state (a range for `ort_minmax`, a ``CalibrationHistogram``
  /// otherwise), computes the range the calibrator's `compute_data` would return now, and
  /// turns it into a scale and zero point with the same `calculate_qparams` as every
  /// observer.
  ///
  /// Precision: the source runs NumPy on float32 arrays, so the range is computed in
  /// float32 on the exact float32 value of every element, whatever the value's dtype. In
  /// model arithmetic (a bf16 or f16 value) the range is then rounded to that dtype, as
  /// the model would hold it, and `calculate_qparams` runs in that dtype. ``state`` keeps
  /// the float32 range.
  /// NaN policy: values holding NaN or ±∞ are refused (``ObserverError/nonFinite(count:firstIndex:shape:)``),
  /// leaving the state unchanged; onnxruntime's `nanmin` would skip NaN but its histogram
  /// refuses ±∞.
  mutating func observeONNXRuntime(_ value: Tensor) throws -> QuantizationParameters {
    if kind == .ortMinMax && settings.peer.perChannel { return try observeONNXRuntimePerChannel(value) }
    let name = kind.rawValue
    let layout = try peerLayout(
      of: value, strategies: [.tensor], refusal: "onnxruntime calibrates one range per tensor: use strategy tensor")
    let peer = settings.peer
    var nextHistogram = state.histogram
    let (mn, mx) = try finiteRange(of: value)
    let range: (Float, Float) = try value.values.withUnsafeBufferPointer { x in
      switch kind {
      case .ortMinMax:
        var old: (Float, Float)?
        if let a = state.minValues?.values.first, let b = state.maxValues?.values.first { old = (a, b) }
        return ONNXRuntimeCalibration.minMax(
          old: old, batch: (mn, mx), symmetric: peer.symmetric, movingAverage: peer.movingAverage,
          averagingConstant: peer.averagingConstant)
      case .ortPercentile:
        let h =
          peer.symmetric
          ? try ONNXRuntimeCalibration.collectAbsoluteValue(state.histogram, x, mn: mn, mx: mx, bins: peer.numBins, observer: name, parallel: runsInParallel)
          : try ONNXRuntimeCalibration.collectValue(state.histogram, x, mn: mn, mx: mx, bins: peer.numBins, observer: name, parallel: runsInParallel)
        nextHistogram = h
        return ONNXRuntimeCalibration.percentileRange(h, percentile: peer.percentile, symmetric: peer.symmetric)
      case .ortEntropy:
        let h = try ONNXRuntimeCalibration.collectValue(state.histogram, x, mn: mn, mx: mx, bins: peer.numBins, observer: name, parallel: runsInParallel)
        nextHistogram = h
        return try ONNXRuntimeCalibration.entropyRange(h, quantizedBins: peer.numQuantizedBins, observer: name)
      case .ortDistribution:
        let h = try ONNXRuntimeCalibration.collectValue(state.histogram, x, mn: mn, mx: mx, bins: peer.numBins, observer: name, parallel: runsInParallel)
        nextHistogram = h
        return ONNXRuntimeCalibration.distributionRange(h)
      default:
        preconditionFailure("\(name) is not an onnxruntime observer")
      }
    }
    let shape = layout.qparamShape
    let parameters = try peerParameters(range: range, shape: shape, dtype: value.dtype)
    state.histogram = nextHistogram
    state.minValues = Tensor(shape: shape, values: [range.0])
    state.maxValues = Tensor(shape: shape, values: [range.1])
    return parameters
  }
}
