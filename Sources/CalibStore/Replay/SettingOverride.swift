import CalibCore
import Foundation
import Yams

/// One `--set`/`--kwarg`/`--observer`/`--sweep` override of a recipe's arguments:
/// `[weights.|input_activations.|output_activations.]FIELD=VALUE`, where FIELD is a
/// compressed-tensors field name or `observer_kwargs.KEY`. Without a section it applies to
/// every section that has arguments.
public struct SettingOverride: Sendable, Hashable, CustomStringConvertible {
  /// The sections of a scheme that hold arguments.
  public enum Section: String, Sendable, CaseIterable {
    case weights
    case inputActivations = "input_activations"
    case outputActivations = "output_activations"
  }

  public var section: Section?
  /// A field of `QuantizationArgs`' JSON, or `observer_kwargs.KEY`.
  public var field: String
  /// The value as typed (parsed as a YAML scalar or flow value).
  public var value: String

  public init(section: Section?, field: String, value: String) {
    self.section = section
    self.field = field
    self.value = value
  }

  /// Parses `[section.]FIELD=VALUE`.
  ///
  /// - Throws: ``ReplayError/invalidOverride(_:reason:)`` for a missing `=` or an unknown field.
  public init(parsing text: String) throws {
    guard let eq = text.firstIndex(of: "=") else {
      throw ReplayError.invalidOverride(text, reason: "expected FIELD=VALUE")
    }
    var key = String(text[..<eq])
    value = String(text[text.index(after: eq)...])
    section = nil
    for s in Section.allCases where key.hasPrefix(s.rawValue + ".") {
      section = s
      key = String(key.dropFirst(s.rawValue.count + 1))
    }
    field = key
    let known = QuantizationArgs.fieldNames.contains(field) && field != "observer_kwargs"
    guard known || (field.hasPrefix("observer_kwargs.") && field.count > 16) else {
      throw ReplayError.invalidOverride(
        text, reason: "unknown field '\(field)'; use one of \(QuantizationArgs.fieldNames.filter { $0 != "observer_kwargs" }.joined(separator: ", ")) or observer_kwargs.KEY")
    }
  }

  public var description: String {
    (section.map { $0.rawValue + "." } ?? "") + field + "=" + value
  }

  /// The value as JSON-compatible data: YAML scalars (`4`, `true`, `null`, `0.5`,
  /// `[128, 128]`) keep their type; anything else is a string.
  var parsedValue: Any {
    // Aliases could make a short value expand without bound: such a value stays a string.
    guard (try? YAMLBudget.check(value, source: "")) != nil else { return value }
    if let v = try? Yams.load(yaml: value) { return v }
    return value
  }
}

extension Recipe {
  /// The recipe with the overrides applied to every group: all overrides of a section are
  /// applied together (in order), then its arguments are revalidated as a recipe's are.
  ///
  /// - Throws: ``ReplayError/overrideMatchesNothing(_:)`` when an override's section is
  ///   in no group, and ``RecipeError`` for arguments the overrides make invalid.
  public func applying(_ overrides: [SettingOverride]) throws -> Recipe {
    var result = self
    var used = Set<SettingOverride>()
    for i in result.groups.indices {
      var scheme = result.groups[i].scheme
      for section in SettingOverride.Section.allCases {
        guard let args = scheme.arguments(in: section) else { continue }
        let applicable = overrides.filter { $0.section == nil || $0.section == section }
        if applicable.isEmpty { continue }
        used.formUnion(applicable)
        scheme.setArguments(try Self.override(args, applicable, group: result.groups[i].name, source: source), in: section)
      }
      result.groups[i].scheme = scheme
    }
    if let unused = overrides.first(where: { !used.contains($0) }) {
      throw ReplayError.overrideMatchesNothing(unused.description)
    }
    return result
  }

  private static func override(_ args: QuantizationArgs, _ overrides: [SettingOverride], group: String, source: String) throws
    -> QuantizationArgs
  {
    let data = try JSONEncoder().encode(args)
    guard var object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { return args }
    for o in overrides {
      if o.field.hasPrefix("observer_kwargs.") {
        var kwargs = object["observer_kwargs"] as? [String: Any] ?? [:]
        kwargs[String(o.field.dropFirst(16))] = o.parsedValue
        object["observer_kwargs"] = kwargs
        continue
      }
      object[o.field] = o.parsedValue
      // Fields inferred from the one overridden are inferred again.
      if ["strategy", "group_size", "num_bits", "type"].contains(o.field) { object["zp_dtype"] = nil }
      if o.field == "strategy", let s = (o.parsedValue as? String)?.lowercased() {
        if s != "group" && s != "tensor_group" && !overrides.contains(where: { $0.field == "group_size" }) {
          object["group_size"] = nil
        }
        if s != "block" && !overrides.contains(where: { $0.field == "block_structure" }) {
          object["block_structure"] = nil
        }
      }
    }
    do {
      let json = try JSONSerialization.data(withJSONObject: object)
      return try JSONDecoder().decode(QuantizationArgs.self, from: json)
    } catch let e as QuantizationArgsError {
      let names = overrides.map(\.description).joined(separator: ", ")
      throw RecipeError.invalidGroup(source: source, group: group, reason: "\(names): \(e.description)")
    }
  }

  /// The recipe as compressed-tensors `config_groups` JSON (what a replayed run stores).
  public var configGroupsJSON: String {
    var groupsObject: [String: Any] = [:]
    for g in groups {
      if let data = try? JSONEncoder().encode(g.scheme), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
        groupsObject[g.name] = object.filter { !($0.value is NSNull) }
      }
    }
    var root: [String: Any] = ["config_groups": groupsObject]
    if !ignore.isEmpty { root["ignore"] = ignore }
    let data = (try? JSONSerialization.data(withJSONObject: ["QuantizationModifier": root], options: [.sortedKeys, .prettyPrinted])) ?? Data()
    return String(decoding: data, as: UTF8.self)
  }

  /// Every argument that differs from `parent`, as `group.section.field: old -> new`.
  public func differences(from parent: Recipe) -> [String] {
    var out: [String] = []
    let parentGroups = Dictionary(parent.groups.map { ($0.name, $0.scheme) }, uniquingKeysWith: { a, _ in a })
    for g in groups {
      guard let old = parentGroups[g.name] else {
        out.append("\(g.name): added")
        continue
      }
      if old.targets != g.scheme.targets { out.append("\(g.name).targets: \(old.targets) -> \(g.scheme.targets)") }
      for section in SettingOverride.Section.allCases {
        let a = old.arguments(in: section).map(\.flattenedFields)
        let b = g.scheme.arguments(in: section).map(\.flattenedFields)
        switch (a, b) {
        case (nil, nil): continue
        case (nil, _): out.append("\(g.name).\(section.rawValue): added")
        case (_, nil): out.append("\(g.name).\(section.rawValue): removed")
        case (let a?, let b?):
          for key in Set(a.keys).union(b.keys).sorted() where a[key] != b[key] {
            out.append("\(g.name).\(section.rawValue).\(key): \(a[key] ?? "null") -> \(b[key] ?? "null")")
          }
        }
      }
    }
    for name in parentGroups.keys.sorted() where !groups.contains(where: { $0.name == name }) {
      out.append("\(name): removed")
    }
    return out
  }

}

extension QuantizationScheme {
  /// The arguments of a section.
  public func arguments(in section: SettingOverride.Section) -> QuantizationArgs? {
    switch section {
    case .weights: weights
    case .inputActivations: inputActivations
    case .outputActivations: outputActivations
    }
  }

  mutating func setArguments(_ args: QuantizationArgs, in section: SettingOverride.Section) {
    switch section {
    case .weights: weights = args
    case .inputActivations: inputActivations = args
    case .outputActivations: outputActivations = args
    }
  }
}
