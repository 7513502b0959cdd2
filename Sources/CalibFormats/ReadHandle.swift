import Foundation

/// A read-only file handle that reports failures as ``FormatError`` naming the file.
struct ReadHandle {
  /// The path the handle was opened with, used in error messages.
  let path: String
  private let handle: FileHandle

  /// Opens `path` for reading.
  init(path: String) throws {
    self.path = path
    // Checked before opening too: opening a named pipe that nobody writes would block.
    var info = stat()
    if stat(path, &info) == 0, let kind = Self.kind(of: info.st_mode) {
      throw FormatError.notARegularFile(path: path, kind: kind)
    }
    do {
      handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
    } catch {
      throw FormatError.unreadable(path: path, reason: Self.reason(error))
    }
    if fstat(handle.fileDescriptor, &info) == 0, let kind = Self.kind(of: info.st_mode) {
      try? handle.close()
      throw FormatError.notARegularFile(path: path, kind: kind)
    }
  }

  /// What a file of `mode` is, when it is not a regular file.
  private static func kind(of mode: mode_t) -> String? {
    switch mode & S_IFMT {
    case S_IFREG: nil
    case S_IFDIR: "a directory"
    case S_IFIFO: "a pipe"
    case S_IFCHR, S_IFBLK: "a device"
    case S_IFSOCK: "a socket"
    default: "a special file"
    }
  }

  /// The file's current size in bytes.
  func size() throws -> Int {
    do {
      let end = try handle.seekToEnd()
      guard let size = Int(exactly: end) else {
        throw FormatError.unreadable(path: path, reason: "file size \(end) is too large")
      }
      return size
    } catch let error as FormatError {
      throw error
    } catch {
      throw FormatError.unreadable(path: path, reason: Self.reason(error))
    }
  }

  /// Reads up to `count` bytes starting at `offset`; fewer are returned only at end of file.
  func read(at offset: Int, count: Int) throws -> Data {
    precondition(offset >= 0 && count >= 0, "negative file range")
    if count == 0 { return Data() }
    do {
      try handle.seek(toOffset: UInt64(offset))
      var data = try handle.read(upToCount: count) ?? Data()
      while data.count < count {
        guard let more = try handle.read(upToCount: count - data.count), !more.isEmpty else {
          break
        }
        data.append(more)
      }
      return data
    } catch {
      throw FormatError.unreadable(path: path, reason: Self.reason(error))
    }
  }

  /// Closes the handle, ignoring errors (the handle was only read from).
  func close() {
    try? handle.close()
  }

  /// A short, human-readable reason for a Foundation error.
  static func reason(_ error: any Error) -> String {
    (error as NSError).localizedDescription
  }
}
