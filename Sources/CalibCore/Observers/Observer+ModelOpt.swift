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
    let (mn, mx) = RangeReduction.minMax(value, layout: layout, parallel: runsInParallel)
    if RangeReduction.containsNonFinite(mn, mx) { throw ObserverError.nonFinite(in: value) }
    var amax = zip(mn, mx).map { Swift.max(abs($0), abs($1)) }
    if let old = state.maxValues {
      guard old.shape == layout.qparamShape else {
        throw ObserverError.shapeChanged(running: old.shape, observed: layout.qparamShape)
      }
      amax = zip(old.values, amax).map { Swift.max($0, $1) }
    }
    return try symmetricParameters(amax: amax, shape: layout.qparamShape, dtype: value.dtype)
  }
}

extension Observer {
  /// One step of nvidia-modelopt's `HistogramCalibrator` followed by its `compute_amax`
  /// (see ``ModelOptCalibration``): the running |x| histogram is kept in
  /// ``ObserverState/histogram``, and the range `(-amax, amax)` goes through
  /// `calculate_qparams`. `compute_amax` is "percentile" for `modelopt_percentile`,
  /// "entropy" for `modelopt_entropy` and "mse" for `modelopt_mse`; the latter two search
  /// with the calibrator's `num_bits` = the arguments' bit count and `unsigned` = false.
  ///
  /// Per tensor only: the source raises `NotImplementedError` for an axis. Entropy and MSE
  /// take integer arguments only (the source's float path, `num_bits=(4, 3)`, fails for
  /// entropy and is not reproduced for MSE).
  /// Precision: float32 on the samples' exact values in both arithmetics (the source casts
  /// to float32); in model arithmetic the range is tagged with the samples' dtype after
  /// rounding to it. NaN policy: values holding NaN or ±∞ are refused.
  mutating func observeModelOptHistogram(_ value: Tensor) throws -> QuantizationParameters {
    let name = kind.rawValue
    let layout = try peerLayout(
      of: value, strategies: [.tensor], refusal: "HistogramCalibrator only supports per-tensor scaling: use strategy tensor")
    if kind != .modelOptPercentile && args.type != .int {
      throw ObserverError.unsupported(
        observer: name, reason: "the \(kind == .modelOptMSE ? "MSE" : "entropy") search needs an integer bit count: use type int, not \(args.type.rawValue)")
    }
    let peer = settings.peer
    let (mn, mx) = try finiteRange(of: value)
    let histogram = try value.values.withUnsafeBufferPointer { x in
      try ModelOptCalibration.collect(
        state.histogram, x, mn: mn, mx: mx, bins: peer.numBins, skipZeros: peer.skipZeros, observer: name,
        parallel: runsInParallel)
    }
    let range = try modelOptHistogramRange(histogram)
    let shape = layout.qparamShape
    let parameters = try peerParameters(range: range, shape: shape, dtype: value.dtype)
    state.histogram = histogram
    state.minValues = Tensor(shape: shape, values: [range.0])
    state.maxValues = Tensor(shape: shape, values: [range.1])
    return parameters
  }

  /// `compute_amax` of this observer's method on `h`, as the range `(-amax, amax)`.
  private func modelOptHistogramRange(_ h: CalibrationHistogram) throws -> (Float, Float) {
    let name = kind.rawValue
    let peer = settings.peer
    let amax: Float
    switch kind {
    case .modelOptEntropy:
      amax = try ModelOptCalibration.entropyAmax(
        h, numBits: args.numBits, stride: peer.stride, startBin: peer.startBin, observer: name)
    case .modelOptMSE:
      amax = try ModelOptCalibration.mseAmax(h, numBits: args.numBits, stride: peer.stride, startBin: peer.startBin, observer: name)
    default:
      return try ModelOptCalibration.percentileRange(h, percentile: peer.percentile, observer: name)
    }
    return (-amax, amax)
  }
}

extension Observer {
  /// One step of nvidia-modelopt's `MseCalibrator` (see ``ModelOptMSESweep``): the first
  /// step fixes the initial amax, `max |x|` per parameter (what `max_calibrate` gives
  /// `mse_calibrate` for a weight), and every step adds its losses to
  /// ``ObserverState/sweep``; the range `(-amax, amax)` of the candidate of least summed
  /// loss goes through `calculate_qparams`.
  ///
  /// Parameters: one per tensor, output channel or group, as for `modelopt_max` (each a
  /// contiguous run of the value). Integer arguments only: the sweep fake-quantizes with
  /// `num_bits` (the float formats' quantizers are not reproduced).
  /// Precision: float32 as the source. In model arithmetic (dtype D) the initial amax is
  /// D's, as the weight quantizer holds it, so per channel and per group every candidate
  /// amax is rounded to D (torch keeps D for a product with a 0-dim float32 candidate;
  /// per tensor both are 0-dim and the product stays float32); the chosen amax is rounded
  /// to D before `calculate_qparams`, as `load_calib_amax` stores it. NaN policy: values
  /// holding NaN or ±∞ are refused, leaving the state unchanged.
  mutating func observeModelOptMSESweep(_ value: Tensor) throws -> QuantizationParameters {
    let name = kind.rawValue
    let layout = try peerLayout(
      of: value, strategies: [.tensor, .channel, .group],
      refusal: "MseCalibrator has one amax per tensor, channel or group: use one of those strategies")
    guard args.type == .int else {
      throw ObserverError.unsupported(
        observer: name, reason: "the sweep fake-quantizes to integers: use type int, not \(args.type.rawValue)")
    }
    let (mn, mx) = RangeReduction.minMax(value, layout: layout, parallel: runsInParallel)
    if RangeReduction.containsNonFinite(mn, mx) { throw ObserverError.nonFinite(in: value) }
    let peer = settings.peer
    let candidates = ModelOptMSESweep.candidates(peer)
    var sweep = state.sweep ?? MSESweepState(
      initialAmax: zip(mn, mx).map { Swift.max(abs($0), abs($1)) },
      losses: Array(repeating: Array(repeating: 0, count: layout.count), count: candidates.count))
    guard sweep.initialAmax.count == layout.count, sweep.losses.count == candidates.count else {
      throw ObserverError.shapeChanged(running: [sweep.initialAmax.count], observed: [layout.count])
    }
    // A per-tensor initial amax is 0-dim, and so is each candidate: their product
    // promotes to float32. Any other amax has dimensions and keeps the value's dtype.
    let candidateDType: FloatDType = args.strategy == .tensor ? .float32 : value.dtype
    value.values.withUnsafeBufferPointer { x in
      ModelOptMSESweep.accumulate(
        &sweep, x, candidates: candidates, numBits: args.numBits, narrowRange: peer.narrowRange,
        candidateDType: candidateDType)
    }
    let amax = ModelOptMSESweep.amax(sweep, candidates: candidates).map(value.dtype.rounded)
    let parameters = try symmetricParameters(amax: amax, shape: layout.qparamShape, dtype: value.dtype)
    state.sweep = sweep
    return parameters
  }

  /// The parameters of the range `(-amax, amax)` in `dtype`, kept as the running range
  /// (modelopt's calibrators all end in a symmetric amax).
  private mutating func symmetricParameters(amax: [Float], shape: [Int], dtype: FloatDType) throws
    -> QuantizationParameters
  {
    let negated = amax.map { -$0 }
    let parameters: QuantizationParameters
    do {
      parameters = try args.quantizationParameters(
        min: Tensor(shape: shape, values: negated, dtype: dtype),
        max: Tensor(shape: shape, values: amax, dtype: dtype), parallel: runsInParallel)
    } catch let e as QuantizationArgsError {
      throw ObserverError.arguments(e)
    }
    state.minValues = Tensor(shape: shape, values: negated)
    state.maxValues = Tensor(shape: shape, values: amax)
    return parameters
  }
}
