/// The observers llm-compressor 0.10 registers, by registry name.
///
/// ```
/// name               range per observation        accumulation across observations
/// memoryless_minmax  min / max                    none (last observation)
/// static_minmax      min / max                    running elementwise min / max
/// minmax             min / max                    moving average, averaging_constant 0.01
/// memoryless_mse     MSE shrink grid search       none
/// mse                MSE shrink grid search       moving average, averaging_constant 0.01
/// ```
///
/// Observers named by another toolkit reproduce that toolkit's calibrator (see
/// ``ONNXRuntimeCalibration``) and compute one range per tensor:
/// ```
/// name               source                                   range
/// ort_minmax         onnxruntime MinMaxCalibrater             min / max, running or moving average
/// ort_percentile     onnxruntime PercentileCalibrater         histogram percentile (|x| when symmetric)
/// ort_entropy        onnxruntime EntropyCalibrater            histogram window of least KL divergence
/// ort_distribution   onnxruntime DistributionCalibrater       histogram edges (±max |x|, widened)
/// modelopt_max       nvidia-modelopt MaxCalibrator            ±running max |x| (per tensor, channel or group)
/// modelopt_percentile nvidia-modelopt HistogramCalibrator     ±percentile of the |x| histogram (torch.histc)
/// modelopt_entropy   nvidia-modelopt HistogramCalibrator      ±edge of the |x| histogram window of least KL divergence
/// modelopt_mse       nvidia-modelopt HistogramCalibrator      ±bin centre of least histogram MSE (as the source computes it)
/// modelopt_mse_sweep nvidia-modelopt MseCalibrator            ±first step's max |x| × the multiplier of least summed loss
/// ```
///
/// Weight observers of newer llm-compressor (0.14.0.1, equal to main at `ab1ba3e` on the
/// CPU path), which search without a global scale and derive it from the result (see
/// ``ExpandedMSESearch``):
/// ```
/// name                source                                   range
/// nvfp4_expanded_mse  observers/mse.py NVFP4ExpandedMSEObserver  MSE grid from expand·(min, max) down
/// imatrix_mse         observers/imatrix.py IMatrixMSEObserver    grid search, errors weighted by E[x²] per input channel
/// ```
public enum ObserverKind: String, Sendable, Codable, CaseIterable {
  case memorylessMinMax = "memoryless_minmax"
  case staticMinMax = "static_minmax"
  case minMax = "minmax"
  case memorylessMSE = "memoryless_mse"
  case mse = "mse"
  case ortMinMax = "ort_minmax"
  case ortPercentile = "ort_percentile"
  case ortEntropy = "ort_entropy"
  case ortDistribution = "ort_distribution"
  case modelOptMax = "modelopt_max"
  case modelOptPercentile = "modelopt_percentile"
  case modelOptEntropy = "modelopt_entropy"
  case modelOptMSE = "modelopt_mse"
  case modelOptMSESweep = "modelopt_mse_sweep"
  case nvfp4ExpandedMSE = "nvfp4_expanded_mse"
  case imatrixMSE = "imatrix_mse"

  /// Looks a name up as the registry does: case-insensitive, `-`, `_` and spaces alike.
  ///
  /// - Throws: ``ObserverError/unknownObserver(_:)`` listing the valid names.
  public init(registryName name: String) throws {
    let key = Self.normalized(name)
    guard let kind = Self.allCases.first(where: { Self.normalized($0.rawValue) == key }) else {
      throw ObserverError.unknownObserver(name)
    }
    self = kind
  }

  private static func normalized(_ s: String) -> String {
    String(s.lowercased().map { $0 == "_" || $0 == " " ? "-" : $0 })
  }

  /// Whether this observer reproduces onnxruntime's calibrators.
  public var isONNXRuntime: Bool {
    switch self {
    case .ortMinMax, .ortPercentile, .ortEntropy, .ortDistribution: true
    default: false
    }
  }

  /// Whether this observer reproduces nvidia-modelopt's calibrators.
  public var isModelOpt: Bool {
    switch self {
    case .modelOptMax, .modelOptPercentile, .modelOptEntropy, .modelOptMSE, .modelOptMSESweep: true
    default: false
    }
  }

  /// Whether this observer keeps nvidia-modelopt's running |x| histogram.
  public var isModelOptHistogram: Bool { self == .modelOptPercentile || self == .modelOptEntropy || self == .modelOptMSE }

  /// Whether this observer reproduces one of newer llm-compressor's searching weight
  /// observers (``ExpandedMSESearch``).
  public var isExpandedSearch: Bool { self == .nvfp4ExpandedMSE || self == .imatrixMSE }

  /// Whether the range comes from the MSE grid search rather than plain min/max.
  public var searchesMSE: Bool { self == .memorylessMSE || self == .mse }

  /// The `observer_kwargs` keys this observer reads.
  public var acceptedKwargs: [String] {
    switch self {
    case .memorylessMinMax, .staticMinMax: []
    case .minMax: ["averaging_constant"]
    case .memorylessMSE: ["maxshrink", "patience", "grid", "norm"]
    case .mse: ["averaging_constant", "maxshrink", "patience", "grid", "norm"]
    case .ortMinMax: ["symmetric", "moving_average", "averaging_constant", "per_channel"]
    case .ortPercentile: ["symmetric", "num_bins", "percentile"]
    case .ortEntropy: ["symmetric", "num_bins", "num_quantized_bins"]
    case .ortDistribution: ["num_bins", "scenario"]
    case .modelOptMax: []
    case .modelOptPercentile: ["num_bins", "percentile", "skip_zeros"]
    case .modelOptEntropy, .modelOptMSE: ["num_bins", "skip_zeros", "start_bin", "stride"]
    case .modelOptMSESweep: ["step_size", "start_multiplier", "stop_multiplier", "narrow_range"]
    case .nvfp4ExpandedMSE: ["maxshrink", "patience", "grid", "norm", "expand"]
    case .imatrixMSE: ["maxshrink", "patience", "grid", "norm", "expand", "strict"]
    }
  }

  /// The observer llm-compressor actually builds for a weight: it replaces `minmax` and
  /// `static_minmax` by `memoryless_minmax` and `mse` by `memoryless_mse`
  /// (`initialize_observer`, 0.10).
  public var forWeights: ObserverKind {
    switch self {
    case .minMax, .staticMinMax: .memorylessMinMax
    case .mse: .memorylessMSE
    default: self
    }
  }
}
