import CalibStore
import Testing

/// How recipe targets and `ignore` entries pick modules (llm-compressor's rules).
@Suite struct RecipeTargetTests {
  let modules: [(name: String, type: String?)] = [
    ("model.layers.0.self_attn.q_proj", "Linear"), ("model.layers.0.self_attn.k_proj", "Linear"),
    ("model.layers.0.mlp.down_proj", "Linear"), ("model.layers.0.self_attn", "Attention"), ("lm_head", "Linear"),
  ]

  func recipe(_ groups: [(String, [String])], ignore: [String] = []) throws -> Recipe {
    let body = groups.map { name, targets in
      "  \(name):\n    targets: [\(targets.map { "'\($0)'" }.joined(separator: ", "))]\n    weights: {num_bits: 8, type: int, symmetric: true, strategy: channel}\n"
    }.joined()
    let ignored = ignore.isEmpty ? "" : "ignore: [\(ignore.map { "'\($0)'" }.joined(separator: ", "))]\n"
    return try Recipe(text: ignored + "config_groups:\n" + body, source: "r.yaml")
  }

  @Test func exactNamesRegexPrefixesAndClassNames() throws {
    let a = try recipe([("g", ["re:.*q_proj$", "model.layers.0.mlp.down_proj"])]).schemes(for: modules)
    #expect(Set(a.keys) == ["model.layers.0.self_attn.q_proj", "model.layers.0.mlp.down_proj"])
    // re: anchors at the start only (Python's re.match): "self_attn" also prefixes q/k.
    let b = try recipe([("g", ["re:model\\.layers\\.0\\.self_attn"])]).schemes(for: modules)
    #expect(b.count == 3)
    let c = try recipe([("g", ["Linear"])], ignore: ["lm_head", "re:.*k_proj"]).schemes(for: modules)
    #expect(Set(c.keys) == ["model.layers.0.self_attn.q_proj", "model.layers.0.mlp.down_proj"])
  }

  @Test func mistakesAreNamed() throws {
    #expect(throws: RecipeError.invalidRegex(source: "r.yaml", target: "re:(")) {
      try recipe([("g", ["re:("])]).schemes(for: modules)
    }
    #expect(throws: RecipeError.invalidRegex(source: "r.yaml", target: "re:[")) {
      try recipe([("g", ["Linear"])], ignore: ["re:["]).schemes(for: modules)
    }
    #expect(throws: RecipeError.targetMatchesNothing(source: "r.yaml", group: "g", target: "Conv2d")) {
      try recipe([("g", ["Conv2d"])]).schemes(for: modules)
    }
    #expect(throws: RecipeError.self) {
      try recipe([("a", ["Linear"]), ("b", ["lm_head"])]).schemes(for: modules)
    }
  }
}
