/// Problems with a replay request, each naming the flag or run and the fix.
public enum ReplayError: Error, Equatable, CustomStringConvertible {
  case invalidOverride(String, reason: String)
  case overrideMatchesNothing(String)
  case invalidSweep(String, reason: String)
  case noRecipe(run: String)
  case nothingSelected(run: String)
  case recordingIncomplete(run: String)

  public var description: String {
    switch self {
    case .invalidOverride(let text, let reason): "override '\(text)' is invalid: \(reason)"
    case .overrideMatchesNothing(let text):
      "override '\(text)' applies to no section of the recipe: name a section the recipe sets (weights, input_activations, output_activations)"
    case .invalidSweep(let text, let reason): "--sweep '\(text)' is invalid: \(reason)"
    case .noRecipe(let run): "run \"\(run)\" has no stored recipe: give one with --recipe"
    case .nothingSelected(let run):
      "the --module/--base-name filters select nothing the recipe quantizes in run \"\(run)\": check the patterns with 'calib show'"
    case .recordingIncomplete(let run):
      "run \"\(run)\" is not complete: finish it with 'calib record --resume' before replaying"
    }
  }
}
