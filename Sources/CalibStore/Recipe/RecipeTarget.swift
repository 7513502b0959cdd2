/// A recipe target (or `ignore` entry), parsed once: `re:` followed by a regular
/// expression matched at the start of the module name (Python's `re.match`), or else a
/// module name or class name matched exactly.
struct RecipeTarget {
  private let text: String
  private let regex: Regex<AnyRegexOutput>?

  /// - Throws: ``RecipeError/invalidRegex(source:target:)`` for a bad `re:` pattern.
  init(_ text: String, source: String) throws {
    self.text = text
    if text.hasPrefix("re:") {
      do {
        regex = try Regex(String(text.dropFirst(3)))
      } catch {
        throw RecipeError.invalidRegex(source: source, target: text)
      }
    } else {
      regex = nil
    }
  }

  func matches(_ module: (name: String, type: String?)) -> Bool {
    if let regex { return module.name.prefixMatch(of: regex) != nil }
    return text == module.name || text == module.type
  }
}
