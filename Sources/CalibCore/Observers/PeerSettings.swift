/// The kwargs of observers named by another toolkit, with that toolkit's defaults.
///
/// onnxruntime's defaults are those of `create_calibrator` (what `quantize_static` uses),
/// which differ from its calibrator classes' own defaults:
/// ```
/// observer          kwarg               create_calibrator   class
/// ort_minmax        symmetric           false               false
///                   moving_average      false               false
///                   averaging_constant  0.01                0.01
///                   per_channel         false               false
/// ort_percentile    symmetric           true                false
///                   num_bins            2048                2048
///                   percentile          99.999              99.999
/// ort_entropy       symmetric           false               false   (does not change the histogram)
///                   num_bins            128                 128
///                   num_quantized_bins  128                 128
/// ort_distribution  num_bins            2048                128     (the class default fails: < 512)
///                   scenario            "same"              "same"  (changes only avg/std, not the range)
/// ```
///
/// nvidia-modelopt's `modelopt_percentile` takes `HistogramCalibrator`'s `num_bins` (2048)
/// and `skip_zeros` (false) and `compute_amax`'s `percentile` (99.99); `modelopt_entropy`
/// and `modelopt_mse` take the same histogram kwargs and `compute_amax`'s `start_bin` (128)
/// and `stride` (1); `modelopt_mse_sweep` takes `MseCalibrator`'s `step_size` (0.1),
/// `start_multiplier` (0.25) and `stop_multiplier` (4.0), and the quantizer's
/// `narrow_range` (false, `QuantizerAttributeConfig`'s default).
public struct PeerSettings: Sendable, Hashable, Codable {
  /// Make the range symmetric (`symmetric`): ±max |x| for ort_minmax; |x| histogram and
  /// one-sided cut for ort_percentile.
  public var symmetric = false
  /// Average each step's range into the state instead of widening it (`moving_average`).
  public var movingAverage = false
  /// Weight of the new range in the moving average (`averaging_constant`).
  public var averagingConstant = 0.01
  /// Bins of a new histogram (`num_bins`).
  public var numBins = 128
  /// Bins the entropy search quantizes a window into (`num_quantized_bins`).
  public var numQuantizedBins = 128
  /// Percentile of the CDF to keep (`percentile`).
  public var percentile = 99.999
  /// The distribution calibrator's scenario (`scenario`): `same` or `p3`.
  public var scenario = "same"
  /// Leave zeros out of the histogram (`skip_zeros`, modelopt).
  public var skipZeros = false
  /// First histogram bin the entropy / MSE search tries (`start_bin`, modelopt).
  public var startBin = 128
  /// Bins between the windows the search tries (`stride`, modelopt).
  public var stride = 1
  /// Spacing of the sweep's multipliers (`step_size`, modelopt's MseCalibrator).
  public var stepSize = 0.1
  /// First multiplier of the sweep (`start_multiplier`).
  public var startMultiplier = 0.25
  /// Last multiplier of the sweep (`stop_multiplier`).
  public var stopMultiplier = 4.0
  /// The sweep's fake quantization uses ±(2^(b-1) - 1) instead of -2^(b-1)…2^(b-1) - 1
  /// (`narrow_range`).
  public var narrowRange = false

  /// The sweep's candidate count, `ceil((stop_multiplier - start_multiplier) / step_size) + 1`
  /// in double precision, as `MseCalibrator.__init__` computes it.
  public var sweepSteps: Int { Int(((stopMultiplier - startMultiplier) / stepSize).rounded(.up)) + 1 }

  /// Largest multiplier accepted: the source sets no bound; beyond it amax × multiplier
  /// leaves float32 for ordinary data.
  public static let multiplierLimit = 1000.0
  /// Most candidates a sweep may try: each is a pass over every observed value.
  public static let sweepLimit = 10_000
  /// Keep one range per index of axis 1 instead of one per tensor (`per_channel`,
  /// ort_minmax): the augmented graph's ReduceMin / ReduceMax reduce every axis but 1.
  public var perChannel = false

  /// Largest `num_bins` accepted: onnxruntime sets no bound; the entropy search is
  /// quadratic in the bin count and histograms are stored at every step.
  public static let binLimit = 1 << 20

  public init() {}

  /// The defaults of `kind`'s source, overridden by `kwargs` (already checked to be keys
  /// the observer accepts).
  ///
  /// - Throws: ``ObserverError/invalidKwarg(observer:key:expected:)`` for a value of the
  ///   wrong type or one the source refuses.
  public init(kind: ObserverKind, kwargs: [String: ObserverKwarg]) throws {
    let name = kind.rawValue
    switch kind {
    case .ortPercentile:
      symmetric = true
      numBins = 2048
    case .ortDistribution:
      numBins = 2048
    case .modelOptPercentile:
      numBins = 2048
      percentile = 99.99
    case .modelOptEntropy, .modelOptMSE:
      numBins = 2048
    default:
      break
    }
    func bool(_ key: String) throws -> Bool? {
      guard let v = kwargs[key] else { return nil }
      guard case .bool(let b) = v else {
        throw ObserverError.invalidKwarg(observer: name, key: key, expected: "true or false")
      }
      return b
    }
    func integer(_ key: String, _ range: ClosedRange<Int>) throws -> Int? {
      guard let v = kwargs[key] else { return nil }
      guard let d = v.number, d.isFinite, d == d.rounded(), d >= Double(range.lowerBound), d <= Double(range.upperBound)
      else {
        throw ObserverError.invalidKwarg(observer: name, key: key, expected: "an integer in [\(range.lowerBound), \(range.upperBound)]")
      }
      return Int(d)
    }
    func number(_ key: String, _ range: ClosedRange<Double>) throws -> Double? {
      guard let v = kwargs[key] else { return nil }
      guard let d = v.number, d.isFinite, range.contains(d) else {
        throw ObserverError.invalidKwarg(observer: name, key: key, expected: "a number in [\(range.lowerBound), \(range.upperBound)]")
      }
      return d
    }
    if let b = try bool("symmetric") { symmetric = b }
    if let b = try bool("moving_average") { movingAverage = b }
    if let b = try bool("skip_zeros") { skipZeros = b }
    if let b = try bool("per_channel") { perChannel = b }
    // onnxruntime refuses a constant outside [0, 1] (MinMaxCalibrater.__init__).
    if let c = try number("averaging_constant", 0...1) { averagingConstant = c }
    // compute_percentile refuses a percentile outside [0, 100].
    if let p = try number("percentile", 0...100) { percentile = p }
    let minimumBins = kind == .ortDistribution ? 512 : 1
    // compute_distribution refuses fewer than 512 bins.
    if let n = try integer("num_bins", minimumBins...Self.binLimit) { numBins = n }
    if let n = try integer("num_quantized_bins", 1...Self.binLimit) { numQuantizedBins = n }
    if let v = kwargs["scenario"] {
      guard case .string(let s) = v, s == "same" || s == "p3" else {
        throw ObserverError.invalidKwarg(observer: name, key: "scenario", expected: "\"same\" or \"p3\"")
      }
      scenario = s
    }
    try readModelOpt(kind: kind, integer: integer, number: number, bool: bool)
    if kind == .ortEntropy && numBins / 2 < numQuantizedBins / 2 {
      // get_entropy_threshold has no window to score then (argmin of an empty array).
      throw ObserverError.invalidKwarg(
        observer: name, key: "num_bins", expected: "at least num_quantized_bins (\(numQuantizedBins)), so the entropy search has a window")
    }
  }
}

extension PeerSettings {
  /// The kwargs of nvidia-modelopt's entropy / MSE searches and MSE sweep.
  private mutating func readModelOpt(
    kind: ObserverKind, integer: (String, ClosedRange<Int>) throws -> Int?,
    number: (String, ClosedRange<Double>) throws -> Double?, bool: (String) throws -> Bool?
  ) throws {
    // The entropy search indexes the window's last bin (start_bin 0 has none); the MSE
    // search starts at any centre. A stride of 0 is refused by Python's range.
    if let n = try integer("start_bin", (kind == .modelOptEntropy ? 1 : 0)...Self.binLimit) { startBin = n }
    if let n = try integer("stride", 1...Self.binLimit) { stride = n }
    if let b = try bool("narrow_range") { narrowRange = b }
    // A negative multiplier makes a negative amax, which _tensor_quant refuses.
    if let s = try number("step_size", 1e-6...Self.multiplierLimit) { stepSize = s }
    if let s = try number("start_multiplier", 0...Self.multiplierLimit) { startMultiplier = s }
    if let s = try number("stop_multiplier", 0...Self.multiplierLimit) { stopMultiplier = s }
    guard kind == .modelOptMSESweep else { return }
    let name = kind.rawValue
    if stopMultiplier < startMultiplier {
      // torch.linspace refuses the negative step count this gives.
      throw ObserverError.invalidKwarg(
        observer: name, key: "stop_multiplier", expected: "at least start_multiplier (\(startMultiplier))")
    }
    if sweepSteps > Self.sweepLimit {
      throw ObserverError.invalidKwarg(
        observer: name, key: "step_size",
        expected: "at least (stop_multiplier - start_multiplier) / \(Self.sweepLimit - 1), so the sweep has at most \(Self.sweepLimit) candidates")
    }
  }
}
