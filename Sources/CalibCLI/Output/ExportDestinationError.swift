/// Why `calib export` refused or failed to write its output file.
enum ExportDestinationError: Error, Equatable, CustomStringConvertible {
  case storeFile(path: String, store: String)
  case notARegularFile(path: String, kind: String)
  case writeFailed(path: String, reason: String)

  var description: String {
    switch self {
    case .storeFile(let path, let store):
      "\(path) is one of the files of store \(store): give the export another file name"
    case .notARegularFile(let path, let kind):
      "\(path) is \(kind): give a file name to export to ('-' writes JSON to stdout)"
    case .writeFailed(let path, let reason):
      "cannot write \(path) (\(reason)): check the directory exists and is writable"
    }
  }
}
