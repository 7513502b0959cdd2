import CYaml

/// Bounds on what a recipe's YAML may expand to, checked on libyaml's event stream before
/// Yams builds anything: Yams resolves an alias by copying its node, and hashes mapping keys
/// when checking duplicates, so nested aliases ("billion laughs") would otherwise take
/// exponential time and memory.
///
/// The scan is linear in the text. It counts every node as it would be after alias
/// expansion (an alias counts the size of the node it names) and stops at the first limit.
///
/// For example:
/// ```swift
/// try YAMLBudget.check("a: &x [1, 2]\nb: *x", source: "r.yaml")  // 7 nodes, 1 alias
/// ```
public enum YAMLBudget {
  /// Most nodes the recipe may hold once its aliases are expanded.
  public static let maxNodes = 100_000
  /// Most alias references (`*name`) a recipe may use.
  public static let maxAliases = 1_000

  /// Checks `text` against the limits. Syntax errors are left to the YAML parser, which
  /// reports them with their position.
  ///
  /// - Throws: ``RecipeError/tooComplex(source:reason:)``.
  public static func check(_ text: String, source: String) throws {
    var parser = yaml_parser_t()
    guard yaml_parser_initialize(&parser) == 1 else { return }
    defer { yaml_parser_delete(&parser) }
    var bytes = Array(text.utf8)
    bytes.append(0)
    try bytes.withUnsafeBufferPointer { buffer in
      // Non-nil: the array holds at least the terminating zero.
      yaml_parser_set_input_string(&parser, buffer.baseAddress!, buffer.count - 1)
      var nodes = 0
      var aliases = 0
      var anchors: [String: Int] = [:]
      // For each open collection: the node count when it started and its anchor.
      var open: [(start: Int, anchor: String?)] = []
      func name(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: UnsafePointer($0)) }
      }
      func add(_ count: Int) throws {
        nodes += count
        if nodes > maxNodes {
          throw RecipeError.tooComplex(
            source: source, reason: "it expands to more than \(maxNodes) YAML nodes (aliases included)")
        }
      }
      while true {
        var event = yaml_event_t()
        guard yaml_parser_parse(&parser, &event) == 1 else { return }
        defer { yaml_event_delete(&event) }
        switch event.type {
        case YAML_STREAM_END_EVENT:
          return
        case YAML_SCALAR_EVENT:
          try add(1)
          if let anchor = name(event.data.scalar.anchor) { anchors[anchor] = 1 }
        case YAML_ALIAS_EVENT:
          aliases += 1
          if aliases > maxAliases {
            throw RecipeError.tooComplex(source: source, reason: "it uses more than \(maxAliases) aliases")
          }
          try add(name(event.data.alias.anchor).flatMap { anchors[$0] } ?? 1)
        case YAML_SEQUENCE_START_EVENT:
          open.append((nodes, name(event.data.sequence_start.anchor)))
          try add(1)
        case YAML_MAPPING_START_EVENT:
          open.append((nodes, name(event.data.mapping_start.anchor)))
          try add(1)
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
          if let (start, anchor) = open.popLast(), let anchor { anchors[anchor] = nodes - start }
        default:
          break
        }
      }
    }
  }
}
