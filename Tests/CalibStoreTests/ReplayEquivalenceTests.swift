import CalibCore
import CalibStore
import CalibTestSupport
import Foundation
import Testing

/// Recording with settings S and replaying with settings T gives bit-identical per-step
/// states and final parameters to recording directly with T.
@Suite struct ReplayEquivalenceTests {
  /// Every conformance case, replayed from a recording made with another observer.
  @Test(arguments: try ConformanceFixture.loadAll())
  func everyConformanceCaseReplaysLikeADirectRecording(fixture: ConformanceFixture) throws {
    let dir = try TemporaryDirectory()
    let store = try CalibrationStore(path: dir.path("store.sqlite"))
    let weights = fixture.weightsFile
    var failures: [String] = []
    for c in fixture.cases {
      let files = fixture.stepFiles(for: c)
      let target = try c.recipeJSON()
      let other = try c.recipeJSON(observer: otherObserver(c))
      #expect(other != target, "case \(c.id): the recording recipe must differ")
      for (name, recipe) in [("direct-\(c.id)", target), ("base-\(c.id)", other)] {
        var request = RecordRequest(runName: name, recipe: (recipe, "\(name).json"), weightFiles: [weights], stepFiles: files)
        request.arithmetic = fixture.recordingArithmetic
        _ = try Recorder(store: store).record(request)
      }
      let recipe = try Recipe(text: target, source: "t.json")
      _ = try ReplayEngine(store: store).replay(ReplayRequest(
        from: "base-\(c.id)", variants: [ReplayVariant(name: "replay-\(c.id)", recipe: recipe, recipeText: target, differences: [])], threads: 2))
      if try store.stepStates(ofRun: "replay-\(c.id)") != store.stepStates(ofRun: "direct-\(c.id)") {
        failures.append("\(c.id): per-step states differ")
      }
      if try store.finalQParams(ofRun: "replay-\(c.id)") != store.finalQParams(ofRun: "direct-\(c.id)") {
        failures.append("\(c.id): final parameters differ")
      }
    }
    #expect(failures.isEmpty, "\(failures)")
  }

  private func otherObserver(_ c: ConformanceCase) -> String {
    if c.baseName == .weight { return c.observer == "memoryless_minmax" ? "memoryless_mse" : "memoryless_minmax" }
    return c.observer == "static_minmax" ? "minmax" : "static_minmax"
  }

  /// Generated recipes on a synthetic recording: record S, replay T, record T.
  @Test(arguments: 0..<6) func generatedRecipesReplayLikeDirectRecordings(seed: Int) throws {
    let dir = try TemporaryDirectory()
    let input = try SyntheticRecording(in: dir, steps: 3, modules: 3, tokens: 16, hidden: 128)
    var rng = SplitMix64(seed: UInt64(seed) &* 7919 &+ 1)
    let s = RandomRecipe.make(&rng)
    let t = RandomRecipe.make(&rng)
    let store = try CalibrationStore(path: dir.path("store.sqlite"))
    func record(_ name: String, _ recipe: String) throws {
      _ = try Recorder(store: store).record(RecordRequest(runName: name, recipe: (recipe, name), weightFiles: [input.weightsFile], stepFiles: input.stepFiles))
    }
    try record("s", s)
    try record("t", t)
    _ = try ReplayEngine(store: store).replay(ReplayRequest(
      from: "s", variants: [ReplayVariant(name: "s-as-t", recipe: try Recipe(text: t, source: "t"), recipeText: t, differences: [])], threads: 2))
    let (replayed, direct) = (try store.stepStates(ofRun: "s-as-t"), try store.stepStates(ofRun: "t"))
    #expect(replayed == direct, "recipes:\n\(s)\n\(t)")
    let (replayedFinal, directFinal) = (try store.finalQParams(ofRun: "s-as-t"), try store.finalQParams(ofRun: "t"))
    #expect(replayedFinal == directFinal)
  }

  /// The same replay gives the same parameters whatever the thread count.
  @Test func replayIsDeterministicAcrossThreadCounts() throws {
    let dir = try TemporaryDirectory()
    let input = try SyntheticRecording(in: dir, steps: 3, modules: 4, tokens: 16, hidden: 128)
    let store = try CalibrationStore(path: dir.path("store.sqlite"))
    let recipe = try String(contentsOfFile: input.recipeFile, encoding: .utf8)
    _ = try Recorder(store: store).record(RecordRequest(runName: "r", recipe: (recipe, "r"), weightFiles: [input.weightsFile], stepFiles: input.stepFiles))
    let mse = try ReplayEngine(store: store).parentRecipe(of: "r").applying([SettingOverride(section: nil, field: "observer", value: "mse")])
    for threads in [1, 2, 3] {
      _ = try ReplayEngine(store: store).replay(ReplayRequest(
        from: "r", variants: [ReplayVariant(name: "t\(threads)", recipe: mse, recipeText: mse.configGroupsJSON, differences: [])], threads: threads))
    }
    let states = try ["t1", "t2", "t3"].map { try store.stepStates(ofRun: $0) }
    let finals = try ["t1", "t2", "t3"].map { try store.finalQParams(ofRun: $0) }
    #expect(states[0] == states[1] && states[0] == states[2])
    #expect(finals[0] == finals[1] && finals[0] == finals[2])
  }
}

/// Random but valid recipes over Linear modules of hidden size 128.
enum RandomRecipe {
  static func make(_ rng: inout SplitMix64) -> String {
    func pick<T>(_ options: [T]) -> T { options[Int(rng.next() % UInt64(options.count))] }
    let bits = pick([2, 3, 4, 8])
    let weightStrategy = pick(["tensor", "channel", "group", "block"])
    var weights = "{num_bits: \(bits), type: int, symmetric: \(pick(["true", "false"])), strategy: \(weightStrategy)"
    if weightStrategy == "group" { weights += ", group_size: \(pick([16, 32, 64]))" }
    if weightStrategy == "block" { weights += ", block_structure: [\(pick([32, 48])), \(pick([32, 64]))]" }
    weights += ", observer: \(pick(["memoryless_minmax", "memoryless_mse", "minmax"]))}"
    let inputStrategy = pick(["tensor", "group"])
    var input = "{num_bits: 8, type: \(pick(["int", "float"])), symmetric: true, strategy: \(inputStrategy), dynamic: false"
    if inputStrategy == "group" { input += ", group_size: 32" }
    let inputObserver = pick(["static_minmax", "minmax", "memoryless_minmax", "mse"])
    input += ", observer: \(inputObserver)"
    if inputObserver == "minmax" || inputObserver == "mse" {
      input += ", observer_kwargs: {averaging_constant: \(pick([0.01, 0.3, 1.0]))}"
    }
    input += "}"
    let output = "{num_bits: \(pick([4, 8])), type: int, symmetric: false, strategy: tensor, dynamic: false, observer: \(pick(["static_minmax", "minmax"]))}"
    return """
      config_groups:
        g:
          targets: [Linear]
          weights: \(weights)
          input_activations: \(input)
          output_activations: \(output)
      """
  }
}
