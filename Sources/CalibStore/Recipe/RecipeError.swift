/// Problems with a recipe, each naming the group, target or field and the fix.
public enum RecipeError: Error, Equatable, CustomStringConvertible {
  case unreadable(source: String, reason: String)
  case fileUnreadable(path: String, reason: String)
  case notUTF8(path: String, offset: Int)
  case tooLarge(source: String, bytes: Int, limit: Int)
  case tooComplex(source: String, reason: String)
  case tooDeep(source: String, limit: Int)
  case nonScalarKey(source: String, line: Int)
  case noQuantizationConfig(source: String)
  case invalidGroup(source: String, group: String, reason: String)
  case targetMatchesNothing(source: String, group: String, target: String)
  case moduleInTwoGroups(source: String, module: String, groups: [String])
  case invalidRegex(source: String, target: String)
  /// `ignore` or `targets` that is not a name or a list of names.
  case notANameList(source: String, field: String)

  public var description: String {
    switch self {
    case .unreadable(let source, let reason):
      "\(source): not a readable YAML/JSON recipe (\(reason)): fix the syntax"
    case .fileUnreadable(let path, let reason):
      "cannot read recipe file \(path) (\(reason)): check the --recipe path"
    case .notUTF8(let path, let offset):
      "recipe file \(path) is not UTF-8 text (invalid byte at offset \(offset)): save it as UTF-8"
    case .tooLarge(let source, let bytes, let limit):
      "\(source): recipe is \(bytes) bytes, more than the \(limit)-byte limit: give the recipe itself, not a model or data file"
    case .tooComplex(let source, let reason):
      "\(source): recipe refused: \(reason): write the recipe without deeply nested aliases"
    case .tooDeep(let source, let limit):
      "\(source): recipe refused: it nests sequences and mappings more than \(limit) levels deep: flatten the recipe"
    case .nonScalarKey(let source, let line):
      "\(source): line \(line): a mapping key is a sequence or mapping: write recipe keys as plain names"
    case .noQuantizationConfig(let source):
      "\(source): no QuantizationModifier with config_groups or scheme found: add one, or give a bare config_groups mapping"
    case .invalidGroup(let source, let group, let reason):
      "\(source): config group '\(group)': \(reason)"
    case .targetMatchesNothing(let source, let group, let target):
      "\(source): target '\(target)' of group '\(group)' matches no recorded module: check the name, the 're:' pattern or the module class"
    case .moduleInTwoGroups(let source, let module, let groups):
      "\(source): module '\(module)' is matched by groups \(groups.joined(separator: " and ")): make the targets disjoint or add it to ignore"
    case .invalidRegex(let source, let target):
      "\(source): target '\(target)' is not a valid regular expression: fix the pattern after 're:'"
    case .notANameList(let source, let field):
      "\(source): \(field) is not a list of names: give module names, class names or re: patterns, as strings"
    }
  }
}
