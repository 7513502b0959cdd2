/// Input files that do not have the shape of a recording.
public enum InputError: Error, Equatable, CustomStringConvertible {
  case badKey(file: String, key: String)
  case nonFinite(file: String, key: String, nan: Int, inf: Int)
  case stepFilesChanged(run: String, expected: Int, given: Int)
  case recipeChanged(run: String)
  case inputChanged(run: String, file: String)
  case nonFiniteWeight(file: String, key: String, nan: Int, inf: Int)
  case changedWhileRecording(file: String)
  case badStep(file: String, value: String)
  case duplicateSample(key: String, files: [String])
  /// Two weight files both hold a module's weight.
  case duplicateWeight(key: String, files: [String])
  /// A directory given for weights holds neither `model.safetensors` nor its index.
  case noCheckpoint(directory: String)

  public var description: String {
    switch self {
    case .badKey(let file, let key):
      "\(file): key '\(key)' is not <module>.<input|output|q|k|v>: write step files in the recorder's format"
    case .nonFinite(let file, let key, let nan, let inf):
      "\(file): tensor '\(key)' holds \(nan) NaN and \(inf) infinite values: clean the data, or pass --allow-nonfinite to record it flagged and skip it for observers"
    case .stepFilesChanged(let run, let expected, let given):
      "run \"\(run)\" has \(expected) completed steps but only \(given) step files were given: pass the same step files to --resume"
    case .changedWhileRecording(let file):
      "\(file) changed while it was being recorded: let the program writing it finish, then record again (--resume continues from the last complete step)"
    case .nonFiniteWeight(let file, let key, let nan, let inf):
      "\(file): weight '\(key)' holds \(nan) NaN and \(inf) infinite values and the recipe quantizes it: a quantized weight must be finite; fix the checkpoint or add the module to the recipe's ignore list"
    case .badStep(let file, let value):
      "\(file): metadata 'step' is '\(value)', not a non-negative integer: write the step number the file belongs to, or no 'step' at all"
    case .duplicateSample(let key, let files):
      "'\(key)' appears in two files of one step (\(files.joined(separator: " and "))): each step file holds a sample once"
    case .duplicateWeight(let key, let files):
      "'\(key)' is in two weight files (\(files.joined(separator: " and "))): give each weight once"
    case .noCheckpoint(let directory):
      "\(directory) is a directory without model.safetensors or model.safetensors.index.json: give the weight files themselves"
    case .inputChanged(let run, let file):
      "run \"\(run)\" was recorded from another \(file): its size or content changed; resume with the files the run was recorded from, or record a new run"
    case .recipeChanged(let run):
      "run \"\(run)\" was recorded with another recipe: resume without --recipe, or record a new run"
    }
  }
}
