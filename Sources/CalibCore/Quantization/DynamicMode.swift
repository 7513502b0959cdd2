/// Whether quantization parameters are calibrated ahead of time or computed at run time
/// (compressed-tensors `dynamic`: `false`, `true` or `"local"`).
public enum DynamicMode: Sendable, Hashable {
  /// `false`: scale and zero point are calibrated from observed data.
  case off
  /// `true`: everything is computed at run time; no observer, no stored parameters.
  case on
  /// `"local"`: the global scale is calibrated; the local (per-group) scales are computed
  /// at run time. Only valid with ``QuantizationStrategy/tensorGroup``.
  case local

  /// Whether any parameter is computed at run time (`true` or `"local"`).
  public var isDynamic: Bool { self != .off }
}
