import CalibCore
import CalibFormats
import CalibStore
import CalibTestSupport
import Foundation
import Testing

/// Properties of the one calibration lifecycle that record and replay share.
@Suite struct LifecyclePropertyTests {
  static let modules = [
    "layers.0.self_attn.q_proj", "layers.0.self_attn.k_proj", "layers.0.self_attn.v_proj",
    "layers.0.mlp.gate_proj", "layers.0.mlp.up_proj", "layers.0.mlp.down_proj",
  ]

  /// record(S) then replay(T) equals record(T), state by state and parameter by
  /// parameter, for 200 generated pairs of recipes over fused siblings.
  @Test func recordThenReplayEqualsDirectRecording() throws {
    let dir = try TemporaryDirectory()
    let input = try SyntheticRecording(in: dir, steps: 2, moduleNames: Self.modules, tokens: 4, hidden: 128)
    let store = try CalibrationStore(path: dir.path("store.sqlite"))
    var rng = SplitMix64(seed: 20261201)
    var failures: [String] = []
    for i in 0..<200 {
      let (s, t) = (GeneratedRecipe.make(&rng), GeneratedRecipe.make(&rng))
      func record(_ name: String, _ recipe: String) throws {
        _ = try Recorder(store: store).record(
          RecordRequest(runName: name, recipe: (recipe, name), weightFiles: [input.weightsFile], stepFiles: input.stepFiles))
      }
      try record("s\(i)", s)
      try record("t\(i)", t)
      do {
        _ = try ReplayEngine(store: store).replay(ReplayRequest(
          from: "s\(i)", variants: [ReplayVariant(name: "s\(i)-as-t", recipe: try Recipe(text: t, source: "t"), recipeText: t, differences: [])],
          threads: 2))
      } catch ReplayError.nothingSelected {
        // T observes nothing (dynamic activations only): so does its direct recording.
        #expect(try store.stepStates(ofRun: "t\(i)").isEmpty && store.finalQParams(ofRun: "t\(i)").isEmpty)
        continue
      }
      if try store.stepStates(ofRun: "s\(i)-as-t") != store.stepStates(ofRun: "t\(i)") {
        failures.append("#\(i) per-step states differ:\nS = \(s)\nT = \(t)")
      }
      if try store.finalQParams(ofRun: "s\(i)-as-t") != store.finalQParams(ofRun: "t\(i)") {
        failures.append("#\(i) final parameters differ:\nS = \(s)\nT = \(t)")
      }
      if failures.count > 3 { break }
    }
    #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
  }

  /// A replay restricted to one projection keeps the global scale fused with its
  /// siblings: the filter applies after fusion.
  @Test func filteredReplayKeepsFusedGlobalScales() throws {
    let dir = try TemporaryDirectory()
    let input = try SyntheticRecording(in: dir, steps: 1, moduleNames: Array(Self.modules.prefix(3)), tokens: 4, hidden: 128, seed: 7)
    let store = try CalibrationStore(path: dir.path("store.sqlite"))
    let nvfp4 = "{scheme: NVFP4, targets: [Linear]}"
    _ = try Recorder(store: store).record(
      RecordRequest(runName: "r", recipe: (nvfp4, "r.yaml"), weightFiles: [input.weightsFile], stepFiles: input.stepFiles))
    let recipe = try Recipe(text: nvfp4, source: "r.yaml")
    func replay(_ name: String, include: @escaping @Sendable (String, BaseName) -> Bool) throws {
      _ = try ReplayEngine(store: store).replay(ReplayRequest(
        from: "r", variants: [ReplayVariant(name: name, recipe: recipe, recipeText: nvfp4, differences: [])], include: include, threads: 1))
    }
    try replay("all") { _, _ in true }
    try replay("q-only") { module, base in module.hasSuffix("q_proj") && base == .weight }

    func weightGlobals(_ run: String) throws -> [String: Float] {
      Dictionary(uniqueKeysWithValues: try store.finalQParams(ofRun: run).filter { $0.baseName == .weight }.compactMap { e in
        e.parameters.globalScale.map { (e.module, $0) }
      })
    }
    let all = try weightGlobals("all")
    let restricted = try weightGlobals("q-only")
    let q = Self.modules[0]
    #expect(restricted.keys.sorted() == [q])
    #expect(restricted[q]?.bitPattern == all[q]?.bitPattern)
    // The fused value is the siblings' minimum, shared by all three, and not q_proj's own.
    let scheme = try #require(try recipe.schemes(for: [(q, "Linear")])[q])
    var observer = try Observer(kind: .memorylessMinMax, baseName: .weight, args: try #require(scheme.weights))
    let own = try observer.observeGlobalScale(try SafetensorsFile(path: input.weightsFile).tensor("\(q).weight"))
    #expect(own != nil && own?.bitPattern != all[q]?.bitPattern, "the data must make fusion change q_proj's global scale")
    #expect(Set(all.values.map(\.bitPattern)).count == 1)
    #expect(try store.finalQParams(ofRun: "q-only").first { $0.module == q }?.parameters == store.finalQParams(ofRun: "all").first { $0.module == q && $0.baseName == .weight }?.parameters)
  }
}

/// Random recipes over strategies, observers and kwargs, static and dynamic activations,
/// and NVFP4 (whose weight global scales fuse over q/k/v and gate/up).
enum GeneratedRecipe {
  static func make(_ rng: inout SplitMix64) -> String {
    func pick<T>(_ options: [T]) -> T { options[Int(rng.next() % UInt64(options.count))] }
    if pick([0, 1, 2, 3, 4]) == 0 {
      return "{scheme: \(pick(["NVFP4", "NVFP4A16", "W4A16", "W8A8", "FP8", "FP8_DYNAMIC", "MXFP4A16"])), targets: [Linear]}"
    }
    let weights = pick([true, true, true, false]) ? weightArgs(&rng) : nil
    let input = pick([true, true, false]) ? activationArgs(&rng) : nil
    let output = pick([true, false, false]) ? activationArgs(&rng) : nil
    var group = "targets: [Linear]"
    if let weights { group += ", weights: \(weights)" }
    if let input { group += ", input_activations: \(input)" }
    if let output { group += ", output_activations: \(output)" }
    if weights == nil && input == nil && output == nil { group += ", weights: {num_bits: 8, type: int, strategy: tensor}" }
    return "{config_groups: {g: {\(group)}}}"
  }

  private static func weightArgs(_ rng: inout SplitMix64) -> String {
    func pick<T>(_ options: [T]) -> T { options[Int(rng.next() % UInt64(options.count))] }
    let observer = pick(["memoryless_minmax", "minmax", "static_minmax", "mse", "memoryless_mse"])
    var kwargs = ""
    if observer.hasSuffix("mse") {
      kwargs = ", observer_kwargs: {maxshrink: \(pick([0.2, 0.5])), grid: \(pick([10, 20])), norm: \(pick([2.0, 2.4]))}"
    }
    switch pick(["int", "int", "fp8", "nvfp4"]) {
    case "int":
      let strategy = pick(["tensor", "channel", "group", "block"])
      var args = "{num_bits: \(pick([2, 4, 8])), type: int, symmetric: \(pick(["true", "false"])), strategy: \(strategy)"
      if strategy == "group" { args += ", group_size: \(pick([16, 32]))" }
      if strategy == "block" { args += ", block_structure: [32, \(pick([16, 32]))]" }
      return args + ", observer: \(observer)\(kwargs)}"
    case "fp8":
      return "{num_bits: 8, type: float, strategy: \(pick(["tensor", "channel"])), observer: \(observer)\(kwargs)}"
    default:
      return "{num_bits: 4, type: float, strategy: tensor_group, group_size: 16, scale_dtype: float8_e4m3fn, observer: \(observer)\(kwargs)}"
    }
  }

  private static func activationArgs(_ rng: inout SplitMix64) -> String {
    func pick<T>(_ options: [T]) -> T { options[Int(rng.next() % UInt64(options.count))] }
    switch pick(["static", "static", "dynamic", "nvfp4"]) {
    case "dynamic":
      return "{num_bits: 8, type: \(pick(["int", "float"])), strategy: \(pick(["tensor", "token"])), dynamic: true}"
    case "nvfp4":
      return "{num_bits: 4, type: float, strategy: tensor_group, group_size: 16, dynamic: local, scale_dtype: float8_e4m3fn, observer: \(pick(["minmax", "static_minmax", "mse"]))}"
    default:
      let observer = pick(["static_minmax", "minmax", "memoryless_minmax", "mse"])
      var args = "{num_bits: \(pick([4, 8])), type: int, symmetric: \(pick(["true", "false"])), strategy: \(pick(["tensor", "tensor", "group"]))"
      if args.hasSuffix("group") { args += ", group_size: 32" }
      args += ", dynamic: false, observer: \(observer)"
      if observer == "minmax" || observer == "mse" { args += ", observer_kwargs: {averaging_constant: \(pick([0.01, 0.5, 1.0]))}" }
      return args + "}"
    }
  }
}
