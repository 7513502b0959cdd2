extension Observer {
  /// One step of onnxruntime's `MinMaxCalibrater` with `per_channel=True`
  /// (`onnxruntime/quantization/calibrate.py`, onnxruntime 1.32.0): the augmented graph's
  /// ReduceMin / ReduceMax reduce every axis but axis 1, so there is one range per index of
  /// axis 1, folded into the state elementwise by the same rule as ``ONNXRuntimeCalibration/minMax(old:batch:symmetric:movingAverage:averagingConstant:)``.
  ///
  /// Axis 1 of a q/k/v state `(B, nH, S, D)` is the head, which is exactly the parameter
  /// of compressed-tensors' `attn_head` strategy, so that is the strategy this requires;
  /// axis 1 of the other values (an activation's sequence position, a torch weight's
  /// input column) is no compressed-tensors parameter.
  ///
  /// onnxruntime 1.32 cannot merge per-channel ranges without `moving_average`:
  /// `merge_range` calls Python's `min` on two arrays, which raises `ValueError`. The
  /// first step works; a later one is refused with the same cause.
  /// Precision: float32 on the exact float32 value of every element (min/max exact, the
  /// moving average in float32); in model arithmetic the ranges are rounded to the value's
  /// dtype before `calculate_qparams`. NaN policy: values holding NaN or ±∞ are refused,
  /// leaving the state unchanged.
  mutating func observeONNXRuntimePerChannel(_ value: Tensor) throws -> QuantizationParameters {
    let layout = try peerLayout(
      of: value, strategies: [.attentionHead],
      refusal: "per_channel keeps axis 1, which is a compressed-tensors parameter only for the heads of q/k/v: use strategy attn_head")
    let (mn, mx) = RangeReduction.minMax(value, layout: layout, parallel: runsInParallel)
    if RangeReduction.containsNonFinite(mn, mx) { throw ObserverError.nonFinite(in: value) }
    let peer = settings.peer
    let shape = layout.qparamShape
    var old: ([Float], [Float])?
    if let a = state.minValues, let b = state.maxValues {
      guard a.shape == shape else { throw ObserverError.shapeChanged(running: a.shape, observed: shape) }
      guard peer.movingAverage else {
        throw ObserverError.unsupported(
          observer: kind.rawValue,
          reason: "onnxruntime 1.32 cannot merge per-channel ranges of two steps without moving_average (merge_range raises ValueError): set moving_average true, or record one step")
      }
      old = (a.values, b.values)
    }
    var lows = [Float](repeating: 0, count: mn.count)
    var highs = [Float](repeating: 0, count: mn.count)
    for c in mn.indices {
      (lows[c], highs[c]) = ONNXRuntimeCalibration.minMax(
        old: old.map { ($0.0[c], $0.1[c]) }, batch: (mn[c], mx[c]), symmetric: peer.symmetric,
        movingAverage: peer.movingAverage, averagingConstant: peer.averagingConstant)
    }
    let parameters = try peerParameters(lows: lows, highs: highs, shape: shape, dtype: value.dtype)
    state.minValues = Tensor(shape: shape, values: lows)
    state.maxValues = Tensor(shape: shape, values: highs)
    return parameters
  }
}
