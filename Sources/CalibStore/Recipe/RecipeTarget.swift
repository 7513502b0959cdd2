/// A recipe target (or `ignore` entry), parsed once: a ``ModuleRegex`` (`re:…`), or else
/// a module name or class name matched exactly.
struct RecipeTarget {
  private let text: String
  private let regex: ModuleRegex?

  /// - Throws: ``RecipeError/invalidRegex(source:target:)`` for a bad `re:` pattern.
  init(_ text: String, source: String) throws {
    self.text = text
    do {
      regex = try ModuleRegex(text)
    } catch {
      throw RecipeError.invalidRegex(source: source, target: text)
    }
  }

  func matches(_ module: (name: String, type: String?)) -> Bool {
    if let regex { return regex.matches(module.name) }
    return text == module.name || text == module.type
  }
}
