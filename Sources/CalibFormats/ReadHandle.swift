import Foundation

/// A read-only file handle that reports failures as ``FormatError`` naming the file.
struct ReadHandle {
  /// The path the handle was opened with, used in error messages.
  let path: String
  private let handle: FileHandle

  /// Opens `path` for reading.
  init(path: String) throws {
    self.path = path
    do {
      handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
    } catch {
      throw FormatError.unreadable(path: path, reason: Self.reason(error))
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
