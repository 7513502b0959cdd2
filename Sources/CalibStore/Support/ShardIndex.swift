import Foundation

/// Hugging Face checkpoints as they are saved: one `model.safetensors`, or shards listed by
/// a `model.safetensors.index.json` (its `weight_map`, tensor name → shard file). Paths
/// given to `record --weights` and `import-qparams` go through ``files(for:)``.
enum ShardIndex {
  /// Largest index read (64 MiB); real ones are a few KiB to a few MiB.
  static let maxBytes = 64 << 20

  /// The safetensors files that `paths` stand for, in order, each once: an index stands
  /// for its shards (in name order), a directory for its index or else its
  /// `model.safetensors`, any other path for itself.
  ///
  /// - Throws: ``ImportError/unreadableIndex(file:reason:)`` for an index that is too large,
  ///   not JSON, or without a `weight_map` of names to files; ``InputError/noCheckpoint(directory:)``
  ///   for a directory with neither file.
  static func files(for paths: [String]) throws -> [String] {
    var out: [String] = []
    func add(_ path: String) { if !out.contains(path) { out.append(path) } }
    for path in paths {
      var isDirectory: ObjCBool = false
      if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
        let index = (path as NSString).appendingPathComponent("model.safetensors.index.json")
        let single = (path as NSString).appendingPathComponent("model.safetensors")
        if FileManager.default.fileExists(atPath: index) {
          try shards(of: index).forEach(add)
        } else if FileManager.default.fileExists(atPath: single) {
          add(single)
        } else {
          throw InputError.noCheckpoint(directory: path)
        }
      } else if path.hasSuffix(".index.json") {
        try shards(of: path).forEach(add)
      } else {
        add(path)
      }
    }
    return out
  }

  /// The shard files an index names, beside it, in name order.
  private static func shards(of index: String) throws -> [String] {
    guard let handle = FileHandle(forReadingAtPath: index) else {
      throw ImportError.unreadableIndex(file: index, reason: "cannot open it")
    }
    defer { try? handle.close() }
    let data = (try? handle.read(upToCount: maxBytes + 1)) ?? Data()
    if data.count > maxBytes { throw ImportError.unreadableIndex(file: index, reason: "larger than \(maxBytes) bytes") }
    guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
      let map = object["weight_map"] as? [String: String]
    else { throw ImportError.unreadableIndex(file: index, reason: "no weight_map object of tensor names to files") }
    let directory = (index as NSString).deletingLastPathComponent
    return Set(map.values).sorted().map { (directory as NSString).appendingPathComponent($0) }
  }
}
