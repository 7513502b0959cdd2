/// GPTQ activation ordering (compressed-tensors `actorder`). Observers ignore it; it is
/// carried so recipes round-trip.
public enum ActivationOrdering: String, Sendable, Codable, CaseIterable {
  /// Reorder groups and weight; `"dynamic"` and `true` are aliases.
  case group
  /// Reorder only the weight; `"static"` is an alias.
  case weight

  /// Parses a name case-insensitively, resolving the aliases `dynamic` and `static`.
  public init?(name: String) {
    switch name.lowercased() {
    case "group", "dynamic": self = .group
    case "weight", "static": self = .weight
    default: return nil
    }
  }
}
