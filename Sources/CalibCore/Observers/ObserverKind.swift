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
public enum ObserverKind: String, Sendable, Codable, CaseIterable {
  case memorylessMinMax = "memoryless_minmax"
  case staticMinMax = "static_minmax"
  case minMax = "minmax"
  case memorylessMSE = "memoryless_mse"
  case mse = "mse"

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

  /// Whether the range comes from the MSE grid search rather than plain min/max.
  public var searchesMSE: Bool { self == .memorylessMSE || self == .mse }

  /// The `observer_kwargs` keys this observer reads.
  public var acceptedKwargs: [String] {
    switch self {
    case .memorylessMinMax, .staticMinMax: []
    case .minMax: ["averaging_constant"]
    case .memorylessMSE: ["maxshrink", "patience", "grid", "norm"]
    case .mse: ["averaging_constant", "maxshrink", "patience", "grid", "norm"]
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
