import CYaml

/// Bounds and shape checks on a recipe's YAML, made on libyaml's event stream before Yams
/// builds anything.
///
/// - Yams resolves an alias by copying its node, and hashes mapping keys when checking
///   duplicates, so nested aliases ("billion laughs") would otherwise take exponential time
///   and memory.
/// - Yams builds nodes and Swift values recursively, so deep nesting would overflow the
///   stack.
/// - Yams traps (ends the process) on a mapping key that is a sequence or mapping, such as
///   `? [a, b] : 1` or `{[1]: x}`, or an alias of one.
///
/// The scan is linear in the text. It counts every node as it would be after alias
/// expansion (an alias counts the size of the node it names) and stops at the first problem.
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
  /// Most sequences and mappings that may be open at once (real recipes nest under ten).
  public static let maxDepth = 100

  /// Checks `text` against the limits and for non-scalar mapping keys. Syntax errors are
  /// left to the YAML parser, which reports them with their position.
  ///
  /// - Throws: ``RecipeError/tooComplex(source:reason:)``,
  ///   ``RecipeError/tooDeep(source:limit:)`` and ``RecipeError/nonScalarKey(source:line:)``.
  public static func check(_ text: String, source: String) throws {
    var parser = yaml_parser_t()
    guard yaml_parser_initialize(&parser) == 1 else { return }
    defer { yaml_parser_delete(&parser) }
    var bytes = Array(text.utf8)
    bytes.append(0)
    try bytes.withUnsafeBufferPointer { buffer in
      // Non-nil: the array holds at least the terminating zero.
      yaml_parser_set_input_string(&parser, buffer.baseAddress!, buffer.count - 1)
      var scan = EventScan(source: source)
      while true {
        var event = yaml_event_t()
        guard yaml_parser_parse(&parser, &event) == 1 else { return }
        defer { yaml_event_delete(&event) }
        if event.type == YAML_STREAM_END_EVENT { return }
        try scan.consume(event)
      }
    }
  }
}

/// The state of one ``YAMLBudget/check(_:source:)`` scan, fed one libyaml event at a time.
private struct EventScan {
  /// A sequence or mapping whose end event has not come yet.
  struct OpenCollection {
    /// The node count when it started, so its size is known at its end.
    var start: Int
    var anchor: String?
    var isMapping: Bool
    /// How many child nodes have started; in a mapping, even positions are keys.
    var children = 0
  }

  /// What an anchor names: its expanded size, and whether it is a scalar (usable as a key).
  struct Anchored {
    var size: Int
    var isScalar: Bool
  }

  let source: String
  var nodes = 0
  var aliases = 0
  var anchors: [String: Anchored] = [:]
  var open: [OpenCollection] = []

  init(source: String) {
    self.source = source
  }

  mutating func consume(_ event: yaml_event_t) throws {
    let line = Int(event.start_mark.line) + 1
    switch event.type {
    case YAML_SCALAR_EVENT:
      _ = startChild()
      try add(1)
      if let anchor = name(event.data.scalar.anchor) { anchors[anchor] = Anchored(size: 1, isScalar: true) }
    case YAML_ALIAS_EVENT:
      let isKey = startChild()
      let target = name(event.data.alias.anchor).flatMap { anchors[$0] }
      try countAlias(size: target?.size ?? 1)
      if isKey, let target, !target.isScalar {
        throw RecipeError.nonScalarKey(source: source, line: line)
      }
    case YAML_SEQUENCE_START_EVENT:
      try openCollection(anchor: name(event.data.sequence_start.anchor), isMapping: false, line: line)
    case YAML_MAPPING_START_EVENT:
      try openCollection(anchor: name(event.data.mapping_start.anchor), isMapping: true, line: line)
    case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
      if let closed = open.popLast(), let anchor = closed.anchor {
        anchors[anchor] = Anchored(size: nodes - closed.start, isScalar: false)
      }
    default:
      break
    }
  }

  /// Counts a node starting inside the innermost open collection; true when it is a key.
  private mutating func startChild() -> Bool {
    guard let last = open.indices.last else { return false }
    defer { open[last].children += 1 }
    return open[last].isMapping && open[last].children % 2 == 0
  }

  private mutating func openCollection(anchor: String?, isMapping: Bool, line: Int) throws {
    if startChild() { throw RecipeError.nonScalarKey(source: source, line: line) }
    open.append(OpenCollection(start: nodes, anchor: anchor, isMapping: isMapping))
    if open.count > YAMLBudget.maxDepth {
      throw RecipeError.tooDeep(source: source, limit: YAMLBudget.maxDepth)
    }
    try add(1)
  }

  private mutating func countAlias(size: Int) throws {
    aliases += 1
    if aliases > YAMLBudget.maxAliases {
      throw RecipeError.tooComplex(source: source, reason: "it uses more than \(YAMLBudget.maxAliases) aliases")
    }
    try add(size)
  }

  private mutating func add(_ count: Int) throws {
    nodes += count
    if nodes > YAMLBudget.maxNodes {
      throw RecipeError.tooComplex(
        source: source, reason: "it expands to more than \(YAMLBudget.maxNodes) YAML nodes (aliases included)")
    }
  }

  private func name(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
    pointer.map { String(cString: UnsafePointer($0)) }
  }
}
