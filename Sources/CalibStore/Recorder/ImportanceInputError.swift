/// `imatrix_mse` weighs a weight's search by the module's input samples
/// (``CalibLifecycle/CalibrationLifecycle/supplyInputImportance(loading:)``), and the
/// recording or replay has none for that module.
public enum ImportanceInputError: Error, Equatable, CustomStringConvertible {
  /// No finite `<module>.input` sample in the run's steps.
  case noInputSamples(module: String, run: String)

  public var description: String {
    switch self {
    case .noInputSamples(let module, let run):
      "imatrix_mse weights the weight of \"\(module)\" by its input samples, but run \"\(run)\" has no finite '\(module).input' sample: record step files that hold it, or choose another weight observer for this module"
    }
  }
}
