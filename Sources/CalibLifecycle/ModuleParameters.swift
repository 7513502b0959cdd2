import CalibCore

/// The quantization parameters a module holds for one base name: `<base>_scale`,
/// `<base>_zero_point` and `<base>_global_scale`. Any may be absent (dynamic arguments,
/// not calibrated yet).
public struct ModuleParameters: Sendable, Equatable {
  public var scale: Tensor?
  public var zeroPoint: Tensor?
  public var zeroPointDType: TorchDType?
  public var globalScale: Float?

  public init(
    scale: Tensor? = nil, zeroPoint: Tensor? = nil, zeroPointDType: TorchDType? = nil,
    globalScale: Float? = nil
  ) {
    self.scale = scale
    self.zeroPoint = zeroPoint
    self.zeroPointDType = zeroPointDType
    self.globalScale = globalScale
  }

  /// Whether nothing has been calibrated.
  public var isEmpty: Bool { scale == nil && zeroPoint == nil && globalScale == nil }
}
