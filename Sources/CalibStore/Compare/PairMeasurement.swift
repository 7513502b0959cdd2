import CalibCore
import CalibLifecycle

/// The measurement of one (module, base name): its stored samples, streamed a step at a
/// time, fake-quantized with each run's final parameters.
///
/// Memory: one decoded sample (float32) in a buffer reused from step to step, plus the
/// fake-quantized copy of it that one run's measurement makes; never the pair's steps
/// together.
///
/// Precision and order: each run's ``QuantizationError`` adds the per-step sums (double)
/// in step order, the order an all-at-once computation adds them in, so the totals are the
/// same to the last bit whatever the number of workers.
struct PairMeasurement: Sendable {
  /// One run's parameters for the pair, ready to fake-quantize with.
  struct Meter: Sendable {
    let run: String
    let args: QuantizationArgs
    /// `nil` for dynamic arguments (each step is quantized with its own parameters).
    let parameters: QuantizationParameters?
    let globalScale: Float?

    /// The meter of a run with `parameters`; `nil` when static arguments have no scale
    /// (nothing to measure).
    init?(run: String, args: QuantizationArgs, parameters p: ModuleParameters) {
      let qparams = p.scale.map {
        QuantizationParameters(
          scale: $0, zeroPoint: p.zeroPoint ?? Tensor(shape: $0.shape, repeating: 0),
          zeroPointDType: p.zeroPointDType ?? args.zpDType)
      }
      if qparams == nil && !args.dynamic.isDynamic { return nil }
      self.run = run
      self.args = args
      self.parameters = args.dynamic.isDynamic ? nil : qparams
      self.globalScale = p.globalScale
    }
  }

  let pair: PairKey
  /// The run whose recording supplied the samples (`nil`: none has samples for the pair).
  let samplesFrom: String?
  /// The finite samples, in step order.
  let samples: [SampleInfo]
  let meters: [Meter]

  /// Reads the samples one step at a time and adds each step's error to every run's total.
  ///
  /// - Throws: ``StoreError/corruptSample(module:baseName:step:reason:)`` for a payload
  ///   that cannot be read, or a quantization error of the arguments.
  func measure(in store: CalibrationStore) throws -> PairErrors {
    var result = PairErrors(module: pair.module, baseName: pair.base, samplesFrom: samplesFrom, errors: [:])
    guard samplesFrom != nil else { return result }
    var totals = [QuantizationError](repeating: QuantizationError(), count: meters.count)
    var buffer: [Float] = []
    for sample in samples {
      try store.readSample(sample, into: &buffer)
      try add(step: Tensor(shape: sample.shape, values: buffer), to: &totals)
    }
    for (meter, total) in zip(meters, totals) { result.errors[meter.run] = total }
    return result
  }

  /// Adds the error of one step to each meter's total. The tensor lives only in this call,
  /// so the caller's buffer is unshared again when the next step is read into it.
  private func add(step value: Tensor, to totals: inout [QuantizationError]) throws {
    for (i, meter) in meters.enumerated() {
      totals[i].add(
        try QuantizationError.of(
          value, as: pair.base, args: meter.args, parameters: meter.parameters, globalScale: meter.globalScale))
    }
  }
}
