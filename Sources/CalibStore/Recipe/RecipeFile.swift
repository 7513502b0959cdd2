import Foundation

/// Reads a recipe file with bounds: a regular file or a pipe of at most ``maxBytes`` bytes,
/// in UTF-8.
///
/// For example:
/// ```swift
/// let text = try RecipeFile.read("Samples/recipes/w8a8-static.yaml")
/// let recipe = try Recipe(text: text, source: "Samples/recipes/w8a8-static.yaml")
/// ```
public enum RecipeFile {
  /// Largest recipe accepted (1 MiB): real recipes are a few KiB.
  public static let maxBytes = 1 << 20

  /// The text of the recipe at `path`.
  ///
  /// - Throws: ``RecipeError/fileUnreadable(path:reason:)``,
  ///   ``RecipeError/tooLarge(source:bytes:limit:)`` or ``RecipeError/notUTF8(path:offset:)``.
  public static func read(_ path: String) throws -> String {
    var info = stat()
    guard stat(path, &info) == 0 else {
      throw RecipeError.fileUnreadable(path: path, reason: String(cString: strerror(errno)))
    }
    // A pipe (`--recipe <(yq … recipe.yaml)`) is read as far as the limit allows.
    guard info.st_mode & S_IFMT == S_IFREG || info.st_mode & S_IFMT == S_IFIFO else {
      throw RecipeError.fileUnreadable(path: path, reason: "not a regular file or a pipe")
    }
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw RecipeError.fileUnreadable(path: path, reason: "permission denied")
    }
    defer { try? handle.close() }
    // Read one byte past the limit, so a file that grew since stat() is still caught.
    let data = (try? handle.read(upToCount: maxBytes + 1)) ?? Data()
    if data.count > maxBytes || Int(info.st_size) > maxBytes {
      throw RecipeError.tooLarge(source: path, bytes: Swift.max(data.count, Int(info.st_size)), limit: maxBytes)
    }
    return try decode(data, path: path)
  }

  /// `data` as UTF-8 text, or the offset of its first invalid byte.
  static func decode(_ data: Data, path: String) throws -> String {
    var parser = Unicode.UTF8.ForwardParser()
    var bytes = data.makeIterator()
    var offset = 0
    while true {
      switch parser.parseScalar(from: &bytes) {
      case .valid(let scalar): offset += scalar.count
      case .emptyInput: return String(decoding: data, as: UTF8.self)
      case .error: throw RecipeError.notUTF8(path: path, offset: offset)
      }
    }
  }
}
