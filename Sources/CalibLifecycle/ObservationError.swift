import CalibCore

/// An observer that refused a value while calibrating, with where: the module, the tensor
/// it observes, and (for activations) the calibration step.
public struct ObservationError: Error, Equatable, CustomStringConvertible {
  public let module: String
  public let baseName: String
  /// The step whose sample was refused; `nil` for a weight.
  public var step: Int?
  /// The observer's own one-line reason (``ObserverError``'s description).
  public let reason: String

  public var description: String {
    "module '\(module)' \(baseName)\(step.map { ", step \($0)" } ?? ""): \(reason)"
  }
}
