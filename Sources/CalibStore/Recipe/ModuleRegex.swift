/// A `re:` pattern, as recipes and `--module` write it: the regular expression after the
/// prefix, matched at the start of a module name (Python's `re.match`).
///
/// For example, `re:.*q_proj$` matches `model.layers.0.self_attn.q_proj`.
public struct ModuleRegex: @unchecked Sendable {
  // Regex<AnyRegexOutput> is not Sendable; a compiled pattern is only ever read.
  private let regex: Regex<AnyRegexOutput>

  /// The pattern of `text`, or `nil` when it has no `re:` prefix.
  ///
  /// - Throws: the regex compiler's error for an invalid expression.
  public init?(_ text: String) throws {
    guard text.hasPrefix("re:") else { return nil }
    regex = try Regex(String(text.dropFirst(3)))
  }

  /// Whether the expression matches at the start of `name`.
  public func matches(_ name: String) -> Bool {
    name.prefixMatch(of: regex) != nil
  }
}
