/// Problems with a recipe, each naming the group, target or field and the fix.
public enum RecipeError: Error, Equatable, CustomStringConvertible {
  case unreadable(source: String, reason: String)
  case noQuantizationConfig(source: String)
  case invalidGroup(source: String, group: String, reason: String)
  case targetMatchesNothing(source: String, group: String, target: String)
  case moduleInTwoGroups(source: String, module: String, groups: [String])
  case invalidRegex(source: String, target: String)

  public var description: String {
    switch self {
    case .unreadable(let source, let reason):
      "\(source): not a readable YAML/JSON recipe (\(reason)): fix the syntax"
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
    }
  }
}
