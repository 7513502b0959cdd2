import CalibCore

/// The parameters a frozen module keeps for one base name, with the observer and
/// arguments that produced them.
public struct FinalParameters: Sendable, Equatable {
  public var module: String
  public var baseName: BaseName
  public var observer: ObserverKind
  public var args: QuantizationArgs
  public var parameters: ModuleParameters
  /// `false` for an activation whose observer received no samples (an MoE expert that
  /// got no tokens): it has no parameters, and must not be exported as if it had.
  public var calibrated: Bool

  public init(
    module: String, baseName: BaseName, observer: ObserverKind, args: QuantizationArgs, parameters: ModuleParameters,
    calibrated: Bool = true
  ) {
    self.calibrated = calibrated
    self.module = module
    self.baseName = baseName
    self.observer = observer
    self.args = args
    self.parameters = parameters
  }
}
