import CalibStore
import Foundation
import Testing

/// Inputs found by, or checked with, the recipe fuzzer (`Fuzz/run.sh`): each must be a
/// thrown ``RecipeError`` whose one-line message names the recipe, never a trap.
@Suite struct RecipeFuzzRegressionTests {
  /// A recipe text and the error it must give.
  struct Case: Sendable, CustomTestStringConvertible {
    var id: String
    var text: String
    var expected: RecipeError
    var testDescription: String { id }
  }

  /// A working config group, appended so that only the hostile part can fail.
  static let group = "config_groups: {g: {targets: [Linear], weights: {num_bits: 8}}}\n"

  static let nonScalarKeys: [Case] = [
    // The fuzzer's first crash: an empty mapping as the key of a flow mapping.
    Case(id: "fuzzer: {{} } ", text: "{{} } ", expected: .nonScalarKey(source: "r.yaml", line: 1)),
    Case(id: "explicit sequence key", text: "? [a, b] : 1\n" + group, expected: .nonScalarKey(source: "r.yaml", line: 1)),
    Case(id: "flow sequence key", text: "{[1]: x}\n", expected: .nonScalarKey(source: "r.yaml", line: 1)),
    Case(
      id: "mapping key in a group", text: "config_groups:\n  ? {a: 1}\n  : 2\n",
      expected: .nonScalarKey(source: "r.yaml", line: 2)),
    Case(
      id: "alias of a sequence as key", text: "a: &s [1]\n? *s\n: 2\n" + group,
      expected: .nonScalarKey(source: "r.yaml", line: 2)),
    Case(id: "single-pair mapping in a sequence", text: "- [[1]: x]\n", expected: .nonScalarKey(source: "r.yaml", line: 1)),
    Case(id: "set of sequences", text: "!!set {? [a]}\n", expected: .nonScalarKey(source: "r.yaml", line: 1)),
  ]

  static let deepNesting: [Case] = [
    Case(
      id: "500 flow sequences", text: String(repeating: "[", count: 500),
      expected: .tooDeep(source: "r.yaml", limit: YAMLBudget.maxDepth)),
    Case(
      id: "500 flow mappings", text: String(repeating: "{a: ", count: 500),
      expected: .tooDeep(source: "r.yaml", limit: YAMLBudget.maxDepth)),
    Case(
      id: "block mappings one level too deep",
      text: (0...YAMLBudget.maxDepth).map { String(repeating: " ", count: $0) + "k\($0):\n" }.joined(),
      expected: .tooDeep(source: "r.yaml", limit: YAMLBudget.maxDepth)),
  ]
}

// MARK: - Non-scalar keys

extension RecipeFuzzRegressionTests {
  @Test(arguments: Self.nonScalarKeys)
  func nonScalarKeysAreAnErrorNotATrap(_ c: Case) {
    #expect(throws: c.expected) { try Recipe(text: c.text, source: "r.yaml") }
    #expect(c.expected.description.hasPrefix("r.yaml: line "))
    #expect(!c.expected.description.contains("\n"))
  }

  @Test func scalarAliasesStayUsableAsKeys() throws {
    let text = "name: &k g\nconfig_groups:\n  *k : {targets: [Linear], weights: {num_bits: 8}}\n"
    let recipe = try Recipe(text: text, source: "r.yaml")
    #expect(recipe.groups.map(\.name) == ["g"])
  }

  /// `--set` values go through the same check before Yams loads them: this one stays a
  /// string, which `block_structure` refuses.
  @Test func setOverridesWithNonScalarKeysStayStrings() throws {
    let recipe = try Recipe(text: Self.group, source: "r.yaml")
    let override = try SettingOverride(parsing: "weights.block_structure={[1]: x}")
    #expect(throws: (any Error).self) { try recipe.applying([override]) }
  }
}

// MARK: - Depth

extension RecipeFuzzRegressionTests {
  @Test(arguments: Self.deepNesting)
  func deepNestingIsRefusedBeforeParsing(_ c: Case) {
    #expect(throws: c.expected) { try Recipe(text: c.text, source: "r.yaml") }
  }

  /// libyaml stops at 1,000 levels on its own; deeper text is a syntax error.
  @Test func nestingPastLibyamlsLimitIsASyntaxError() {
    let error = #expect(throws: RecipeError.self) {
      try Recipe(text: String(repeating: "[", count: 100_000), source: "r.yaml")
    }
    #expect(error?.description.hasPrefix("r.yaml: not a readable YAML/JSON recipe") == true)
  }

  @Test func nestingAtTheLimitStillParses() throws {
    let depth = YAMLBudget.maxDepth - 4
    let padding = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
    let text = "padding: \(padding)\n" + Self.group
    #expect(try Recipe(text: text, source: "r.yaml").groups.count == 1)
  }

  @Test func errorsFromAFileNameIt() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("calib-recipe-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("bad.yaml").path
    try Data("quant:\n  ? [a, b]\n  : 1\n".utf8).write(to: URL(fileURLWithPath: path))
    let error = #expect(throws: RecipeError.self) { try Recipe(text: try RecipeFile.read(path), source: path) }
    #expect(error?.description == "\(path): line 2: a mapping key is a sequence or mapping: write recipe keys as plain names")
  }
}
