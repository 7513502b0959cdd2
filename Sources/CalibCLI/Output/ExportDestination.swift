import Foundation

/// Where `calib export` or `calib report` may write: never one of the store's own files (compared by device
/// and inode, and by resolved path for files not created yet), never an existing file that
/// is not a regular file (a device such as /dev/null, a directory, a pipe). Writes go to a
/// temporary file beside the destination, are fsynced, and are renamed into place.
///
/// For example:
/// ```swift
/// let destination = try ExportDestination(path: "q.json", store: "calib.sqlite")
/// try destination.write(Data("[]".utf8))
/// ```
struct ExportDestination {
  /// What is written, as errors name it.
  enum Output: String, Sendable {
    case export
    case report

    /// How the command writes to stdout instead of a file.
    var stdoutHint: String {
      switch self {
      case .export: "'-' writes JSON to stdout"
      case .report: "'-' writes the page to stdout"
      }
    }
  }

  let path: String

  /// Checks `path` against the store at `store`.
  ///
  /// - Throws: ``ExportDestinationError``.
  init(path: String, store: String, output: Output = .export) throws {
    self.path = path
    var target = stat()
    let exists = stat(path, &target) == 0
    if exists && target.st_mode & S_IFMT != S_IFREG {
      let kind = target.st_mode & S_IFMT == S_IFDIR ? "a directory" : "not a regular file (a device, pipe or socket)"
      throw ExportDestinationError.notARegularFile(path: path, kind: kind, output: output)
    }
    let resolved = Self.resolved(path)
    for suffix in ["", "-samples", "-wal", "-shm"] {
      let own = store + suffix
      var info = stat()
      let sameFile = exists && stat(own, &info) == 0 && info.st_dev == target.st_dev && info.st_ino == target.st_ino
      if sameFile || Self.resolved(own) == resolved {
        throw ExportDestinationError.storeFile(path: path, store: store, output: output)
      }
    }
  }

  /// `path` with its directory's symbolic links and `..` resolved (the file itself may not
  /// exist yet).
  static func resolved(_ path: String) -> String {
    let url = URL(fileURLWithPath: path)
    let directory = url.deletingLastPathComponent().path
    guard let real = realpath(directory, nil) else { return url.standardizedFileURL.path }
    defer { free(real) }
    return String(cString: real) + "/" + url.lastPathComponent
  }

  /// Writes `data` to a temporary file beside the destination, fsyncs it and renames it
  /// into place, so the destination holds either its old content or all of the new.
  func write(_ data: Data) throws {
    let url = URL(fileURLWithPath: path)
    let temporary = url.deletingLastPathComponent()
      .appendingPathComponent(".\(url.lastPathComponent).tmp-\(UUID().uuidString)").path
    let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw ExportDestinationError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
    var failure: Int32 = 0
    data.withUnsafeBytes { buffer in
      var offset = 0
      while offset < buffer.count {
        let n = Foundation.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
        if n < 0 {
          if errno == EINTR { continue }
          failure = errno
          return
        }
        offset += n
      }
    }
    if failure == 0 && fsync(fd) != 0 { failure = errno }
    close(fd)
    if failure == 0 && rename(temporary, path) != 0 { failure = errno }
    if failure != 0 {
      unlink(temporary)
      throw ExportDestinationError.writeFailed(path: path, reason: String(cString: strerror(failure)))
    }
  }
}
