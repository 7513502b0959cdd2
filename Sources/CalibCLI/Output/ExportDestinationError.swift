/// Why `calib export` or `calib report` refused or failed to write its output file.
enum ExportDestinationError: Error, Equatable, CustomStringConvertible {
  case storeFile(path: String, store: String, output: ExportDestination.Output)
  case notARegularFile(path: String, kind: String, output: ExportDestination.Output)
  case writeFailed(path: String, reason: String)

  var description: String {
    switch self {
    case .storeFile(let path, let store, let output):
      "\(path) is one of the files of store \(store): give the \(output.rawValue) another file name"
    case .notARegularFile(let path, let kind, let output):
      "\(path) is \(kind): give a file name to \(output.rawValue) to (\(output.stdoutHint))"
    case .writeFailed(let path, let reason):
      "cannot write \(path) (\(reason)): check the directory exists, is writable and has free space"
    }
  }
}
