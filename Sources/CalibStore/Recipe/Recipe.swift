import CalibCore
import Foundation
import Yams

/// A quantization recipe as llm-compressor users write it, in YAML or JSON: a
/// `QuantizationModifier` (anywhere in the recipe's stages) with `config_groups`, or with
/// `scheme: NVFP4`-style presets and `targets`, plus `ignore`; or a bare `config_groups`
/// mapping.
///
/// For example:
/// ```yaml
/// quant_stage:
///   quant_modifiers:
///     QuantizationModifier:
///       ignore: [lm_head]
///       config_groups:
///         group_0:
///           targets: [Linear]
///           weights: {num_bits: 4, type: int, symmetric: true, strategy: group, group_size: 128}
/// ```
public struct Recipe: Sendable {
  /// One config group: its name and scheme (whose `targets` select modules).
  public struct Group: Sendable, Equatable {
    public var name: String
    public var scheme: QuantizationScheme
  }

  /// The recipe text as given.
  public let text: String
  /// Where the recipe came from, for messages (a file name).
  public let source: String
  public var groups: [Group]
  public var ignore: [String]
  /// The modifier's `kv_cache_scheme`: arguments for the key and value states of every
  /// attention module (class name ending in `Attention`).
  public var kvCacheScheme: QuantizationArgs?

  /// Parses a recipe.
  ///
  /// - Throws: ``RecipeError`` for unreadable text or a missing quantization config, and
  ///   for invalid arguments (naming the group and field).
  public init(text: String, source: String) throws {
    self.text = text
    self.source = source
    if text.utf8.count > RecipeFile.maxBytes {
      throw RecipeError.tooLarge(source: source, bytes: text.utf8.count, limit: RecipeFile.maxBytes)
    }
    try YAMLBudget.check(text, source: source)
    let root: Any?
    do {
      root = try Yams.load(yaml: text)
    } catch {
      throw RecipeError.unreadable(source: source, reason: "\(error)".split(separator: "\n").first.map(String.init) ?? "")
    }
    guard let modifier = Self.findModifier(root) else {
      throw RecipeError.noQuantizationConfig(source: source)
    }
    ignore = try Self.names(modifier["ignore"], field: "ignore", source: source) ?? []
    groups = try Self.groups(in: modifier, source: source)
    if let kv = modifier["kv_cache_scheme"], !(kv is NSNull) {
      guard let object = kv as? [String: Any] else {
        throw RecipeError.invalidGroup(source: source, group: "kv_cache_scheme", reason: "expected a mapping of quantization arguments")
      }
      kvCacheScheme = try Self.decodeArguments(object, group: "kv_cache_scheme", source: source)
    }
    if groups.isEmpty && kvCacheScheme == nil { throw RecipeError.noQuantizationConfig(source: source) }
  }

  /// Creates a recipe from groups directly (for replays that override settings).
  public init(groups: [Group], ignore: [String], text: String, source: String) {
    self.groups = groups
    self.ignore = ignore
    self.text = text
    self.source = source
  }

  private static func findModifier(_ node: Any?) -> [String: Any]? {
    if let dict = node as? [String: Any] {
      if let m = dict["QuantizationModifier"] as? [String: Any] { return m }
      // A modifier's own mapping before its children: its config_groups would otherwise
      // be found as a bare object, without the modifier's ignore list.
      if dict["config_groups"] != nil || dict["scheme"] != nil { return dict }
      for key in dict.keys.sorted() {
        if let found = findModifier(dict[key]) { return found }
      }
      if !dict.isEmpty, dict.values.allSatisfy({ ($0 as? [String: Any])?["targets"] != nil }) {
        return ["config_groups": dict]
      }
    } else if let list = node as? [Any] {
      for item in list {
        if let found = findModifier(item) { return found }
      }
    }
    return nil
  }

  private static func groups(in modifier: [String: Any], source: String) throws -> [Group] {
    var result: [Group] = []
    if let configGroups = modifier["config_groups"] as? [String: Any] {
      for name in configGroups.keys.sorted() {
        guard var object = configGroups[name] as? [String: Any] else {
          throw RecipeError.invalidGroup(source: source, group: name, reason: "expected a mapping with targets and args")
        }
        if let t = object["targets"] as? String { object["targets"] = [t] }
        result.append(Group(name: name, scheme: try decodeScheme(object, group: name, source: source)))
      }
    }
    let defaultTargets = try names(modifier["targets"], field: "targets", source: source) ?? ["Linear"]
    if let preset = modifier["scheme"] as? String {
      result.append(Group(name: preset.uppercased(), scheme: try presetScheme(preset, defaultTargets, source)))
    } else if let presets = modifier["scheme"] as? [String: Any] {
      for name in presets.keys.sorted() {
        let targets = try names(presets[name], field: "scheme.\(name)", source: source) ?? defaultTargets
        result.append(Group(name: name.uppercased(), scheme: try presetScheme(name, targets, source)))
      }
    }
    return result
  }

  /// A modifier's `ignore` or `targets`: a name or a list of names; `nil` when absent
  /// or null.
  ///
  /// - Throws: ``RecipeError/notANameList(source:field:)`` for anything else, a list
  ///   holding a number say, rather than dropping what is not a name.
  private static func names(_ value: Any?, field: String, source: String) throws -> [String]? {
    switch value {
    case nil, is NSNull: return nil
    case let s as String: return [s]
    case let list as [Any]:
      let names = list.compactMap { $0 as? String }
      guard names.count == list.count else { throw RecipeError.notANameList(source: source, field: field) }
      return names
    default: throw RecipeError.notANameList(source: source, field: field)
    }
  }

  private static func presetScheme(_ name: String, _ targets: [String], _ source: String) throws
    -> QuantizationScheme
  {
    do {
      return try PresetSchemes.scheme(named: name, targets: targets)
    } catch let e as QuantizationArgsError {
      throw RecipeError.invalidGroup(source: source, group: name, reason: e.description)
    }
  }

  private static func decodeScheme(_ object: [String: Any], group: String, source: String) throws
    -> QuantizationScheme
  {
    try decode(QuantizationScheme.self, object, group: group, source: source)
  }

  private static func decodeArguments(_ object: [String: Any], group: String, source: String) throws -> QuantizationArgs {
    try decode(QuantizationArgs.self, object, group: group, source: source)
  }

  private static func decode<T: Decodable>(_ type: T.Type, _ object: [String: Any], group: String, source: String) throws -> T {
    if let field = nonFiniteField(object) {
      throw RecipeError.invalidGroup(source: source, group: group, reason: "\(field) is not a finite number: give a number")
    }
    do {
      let data = try JSONSerialization.data(withJSONObject: object)
      return try JSONDecoder().decode(T.self, from: data)
    } catch let e as QuantizationArgsError {
      throw RecipeError.invalidGroup(source: source, group: group, reason: e.description)
    } catch let e as ObserverError {
      throw RecipeError.invalidGroup(source: source, group: group, reason: e.description)
    } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context),
      let DecodingError.keyNotFound(_, context), let DecodingError.dataCorrupted(context)
    {
      let field = context.codingPath.map(\.stringValue).joined(separator: ".")
      throw RecipeError.invalidGroup(
        source: source, group: group, reason: "\(field.isEmpty ? "arguments" : field): \(context.debugDescription)")
    } catch {
      throw RecipeError.invalidGroup(source: source, group: group, reason: "malformed arguments (\(error))")
    }
  }

  /// The dotted path of the first NaN or infinity in a recipe's parsed YAML (`.nan`,
  /// `.inf`), which JSON, and so the arguments' decoding, cannot hold.
  static func nonFiniteField(_ value: Any, path: String = "") -> String? {
    switch value {
    case let d as Double: return d.isFinite ? nil : path
    case let a as [Any]:
      for (i, e) in a.enumerated() { if let f = nonFiniteField(e, path: "\(path)[\(i)]") { return f } }
    case let o as [String: Any]:
      for key in o.keys.sorted() {
        if let f = nonFiniteField(o[key]!, path: path.isEmpty ? key : "\(path).\(key)") { return f }
      }
    default: break
    }
    return nil
  }

  /// Assigns each module the scheme of the one group whose targets match it.
  ///
  /// A target matches a module by exact name, by `re:` regular expression (anchored at the
  /// start, as Python's `re.match`), or by module class name. Ignored modules (same rules)
  /// are skipped.
  ///
  /// - Throws: ``RecipeError/targetMatchesNothing(source:group:target:)`` and
  ///   ``RecipeError/moduleInTwoGroups(source:module:groups:)``.
  public func schemes(for modules: [(name: String, type: String?)]) throws -> [String: QuantizationScheme] {
    var assigned: [String: (group: String, scheme: QuantizationScheme)] = [:]
    let ignored = try ignore.map { try RecipeTarget($0, source: source) }
    let candidates = modules.filter { m in !ignored.contains { $0.matches(m) } }
    for group in groups {
      for target in group.scheme.targets {
        let pattern = try RecipeTarget(target, source: source)
        let matched = candidates.filter { pattern.matches($0) }
        if matched.isEmpty {
          throw RecipeError.targetMatchesNothing(source: source, group: group.name, target: target)
        }
        for m in matched {
          if let other = assigned[m.name], other.group != group.name {
            throw RecipeError.moduleInTwoGroups(source: source, module: m.name, groups: [other.group, group.name])
          }
          assigned[m.name] = (group.name, group.scheme)
        }
      }
    }
    var schemes = assigned.mapValues(\.scheme)
    if let kv = kvCacheScheme {
      for m in candidates where m.type?.hasSuffix("Attention") ?? false {
        var scheme = try schemes[m.name] ?? QuantizationScheme(targets: [])
        scheme.kvCache = kv
        schemes[m.name] = scheme
      }
    }
    return schemes
  }
}
