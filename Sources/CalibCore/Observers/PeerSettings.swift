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
/// and `skip_zeros` (false) and `compute_amax`'s `percentile` (99.99).
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
    if kind == .ortEntropy && numBins / 2 < numQuantizedBins / 2 {
      // get_entropy_threshold has no window to score then (argmin of an empty array).
      throw ObserverError.invalidKwarg(
        observer: name, key: "num_bins", expected: "at least num_quantized_bins (\(numQuantizedBins)), so the entropy search has a window")
    }
  }
}
