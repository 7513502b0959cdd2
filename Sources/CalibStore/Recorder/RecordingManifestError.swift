/// Problems with a recording directory's `manifest.json`, each naming the file, the field
/// and the fix.
///
/// `file` is the manifest's path; `field` is a JSON path such as `steps[2].files[0]`.
public enum RecordingManifestError: Error, Equatable, CustomStringConvertible {
  /// The directory has no `manifest.json`.
  case missingManifest(file: String)
  /// The manifest is not JSON, or a field has the wrong type or is missing.
  case unreadable(file: String, field: String, reason: String)
  /// `format` is not `calib-recording`.
  case unsupportedFormat(file: String, found: String)
  /// `version` is newer (or older) than this reader understands.
  case unsupportedVersion(file: String, found: Int, supported: Int)
  /// A path is absolute, empty, or leaves the recording directory.
  case pathOutsideDirectory(file: String, field: String, path: String)
  /// A path names a file that does not exist (or is not a regular file).
  case missingFile(file: String, field: String, path: String)
  /// The same file is listed twice.
  case duplicateFile(file: String, field: String, path: String)
  /// A step number is negative.
  case negativeStep(file: String, field: String, step: Int)
  /// Two entries of `steps` have the same step number.
  case duplicateStep(file: String, field: String, step: Int)
  /// A step lists no files.
  case emptyStep(file: String, field: String, step: Int)
  /// The recipe file is not UTF-8 text.
  case unreadableRecipe(file: String, field: String, path: String)

  /// The one-line message the command line prints.
  public var description: String {
    switch self {
    case .missingManifest(let file):
      "\(file): no such file: point at a directory written by calib_oneshot.py"
    case .unreadable(let file, let field, let reason):
      "\(file): field '\(field)': \(reason): fix the manifest or record again"
    case .unsupportedFormat(let file, let found):
      "\(file): field 'format' is '\(found)', not 'calib-recording': this is not a calib recording"
    case .unsupportedVersion(let file, let found, let supported):
      "\(file): field 'version' is \(found) but this calib reads version \(supported): "
        + "use a matching calib or calib_oneshot.py"
    case .pathOutsideDirectory(let file, let field, let path):
      "\(file): field '\(field)': path '\(path)' is not inside the recording directory: "
        + "use a relative path without '..'"
    case .missingFile(let file, let field, let path):
      "\(file): field '\(field)': file '\(path)' does not exist: copy the whole recording directory"
    case .duplicateFile(let file, let field, let path):
      "\(file): field '\(field)': file '\(path)' is listed twice: list each file once"
    case .negativeStep(let file, let field, let step):
      "\(file): field '\(field)': step \(step) is negative: number steps from 0"
    case .duplicateStep(let file, let field, let step):
      "\(file): field '\(field)': step \(step) appears twice: list all files of a step in one entry"
    case .emptyStep(let file, let field, let step):
      "\(file): field '\(field)': step \(step) lists no files: drop the entry or list its files"
    case .unreadableRecipe(let file, let field, let path):
      "\(file): field '\(field)': recipe '\(path)' is not UTF-8 text: write the recipe as YAML"
    }
  }
}
