/// A recipe that the available samples cannot calibrate, found while building a
/// ``CalibrationPlan`` and so before anything is written.
public enum PlanError: Error, Equatable, CustomStringConvertible {
  /// The recipe quantizes a module's weight but no weight was given for it.
  case missingWeight(module: String)
  /// The recipe sets an activation section but the module has no samples of that base name.
  case missingSamples(module: String, baseName: String, section: String)
  /// The samples' shape or the arguments do not fit the strategy.
  case layout(module: String, baseName: String, reason: String)

  public var description: String {
    switch self {
    case .missingWeight(let module):
      "module '\(module)': the recipe quantizes its weights but no --weights file holds '\(module).weight': pass the model's safetensors with --weights"
    case .missingSamples(let module, let base, let section):
      "module '\(module)': the recipe sets \(section) but no '\(module).\(base)' samples were recorded: record them or remove \(section) for this module"
    case .layout(let module, let base, let reason):
      "module '\(module)' \(base): \(reason)"
    }
  }
}
