import CalibCore
import CalibStore
import CalibTestSupport
import Foundation
import Testing

/// `diff --metrics` and `rank` measure a step at a time; their numbers must be those of
/// measuring every step at once.
@Suite struct StreamingMetricsTests {}

// MARK: - Streaming equals all at once

extension StreamingMetricsTests {
  @Test(arguments: [1, 3]) func streamedErrorsEqualAllAtOnce(threads: Int) throws {
    let fixture = try Fixture()
    let streamed = try fixture.store.quantizationErrors(runs: ["a", "b"], threads: threads)
    let reference = try fixture.allAtOnce(runs: ["a", "b"])
    #expect(streamed.count == reference.count)
    #expect(!streamed.isEmpty)
    for pair in streamed {
      let key = "\(pair.module).\(pair.baseName.rawValue)"
      let expected = try #require(reference[key], "\(key) has no reference")
      #expect(pair.samplesFrom == "a")
      #expect(Set(pair.errors.keys) == Set(expected.keys), "\(key)")
      for (run, error) in pair.errors {
        // The contract is bit-identical totals: both add the same per-step sums in step
        // order, so exact comparison is intended here.
        #expect(error == expected[run], "\(key) run \(run)")
      }
    }
  }

  /// The reference is not trivially met: every step counts, and the last step alone (what
  /// a broken accumulation would keep) gives other numbers.
  @Test func everyStepCounts() throws {
    let fixture = try Fixture()
    let streamed = try fixture.store.quantizationErrors(runs: ["a", "b"], threads: 2)
    let lastOnly = try fixture.allAtOnce(runs: ["a", "b"], onlyLastStep: true)
    let input = try #require(streamed.first { $0.baseName == .input })
    let error = try #require(input.errors["a"])
    #expect(error.count == Fixture.steps * 2 * Fixture.tokens * Fixture.hidden)
    let last = try #require(lastOnly["\(input.module).input"]?["a"])
    #expect(last.count * Fixture.steps == error.count)
    #expect(last.sqnr != error.sqnr)
  }

  @Test func diffMetricsAndRankingUseTheSameNumbers() throws {
    let fixture = try Fixture()
    let errors = try fixture.store.quantizationErrors(runs: ["a", "b"], threads: 2)
    let rows = try fixture.store.diff("a", "b", metrics: true, threads: 2)
    let ranking = try fixture.store.ranking(runs: ["a", "b"], threads: 2)
    for pair in errors where !pair.errors.isEmpty {
      let row = try #require(rows.first { $0.module == pair.module && $0.baseName == pair.baseName })
      #expect(row.errorA == pair.errors["a"])
      #expect(row.errorB == pair.errors["b"])
      let ranked = try #require(ranking.pairs.first { $0.module == pair.module && $0.baseName == pair.baseName })
      #expect(Set(ranked.ranking.map(\.run)) == Set(pair.errors.keys))
      let sqnr = ranked.ranking.map(\.error.sqnr).filter { !$0.isNaN }
      #expect(sqnr == sqnr.sorted(by: >))
    }
    #expect(ranking.standings.map(\.wins).reduce(0, +) == ranking.pairs.count)
  }
}

// MARK: - Ranking order

extension StreamingMetricsTests {
  /// Higher SQNR first, unmeasured (NaN) last, ties in the order the runs were given.
  @Test func rankingOrdersBySQNRWithNaNLastAndTiesInGivenOrder() {
    func error(noise: Float) -> QuantizationError {
      var e = QuantizationError()
      e.add(original: [1, 2], quantized: [1 + noise, 2])
      return e
    }
    let errors = [
      PairErrors(
        module: "m", baseName: .input, samplesFrom: "a",
        errors: ["a": error(noise: 0.5), "b": error(noise: 0.1), "c": QuantizationError(), "d": error(noise: 0.5)]),
      PairErrors(module: "n", baseName: .input, samplesFrom: nil, errors: [:]),
    ]
    let ranking = RunRanking(runs: ["d", "c", "b", "a"], errors: errors)
    #expect(ranking.pairs.count == 1)
    #expect(ranking.pairs.first?.ranking.map(\.run) == ["b", "d", "a", "c"])
    #expect(ranking.standings.map(\.run) == ["b", "d", "a", "c"])
    #expect(ranking.standings.map(\.wins) == [1, 0, 0, 0])
    #expect(ranking.standings.last?.meanSQNR.isNaN == true)
  }
}

// MARK: - Runs that are gone or unfinished

extension StreamingMetricsTests {
  @Test func removedRunIsReportedByName() throws {
    let fixture = try Fixture()
    try fixture.store.deleteRun(named: "b")
    #expect(throws: StoreError.runNotFound("b", store: fixture.store.path)) {
      try fixture.store.quantizationErrors(runs: ["a", "b"], threads: 2)
    }
    #expect(throws: StoreError.runNotFound("b", store: fixture.store.path)) {
      try fixture.store.diff("a", "b", metrics: true)
    }
  }

  @Test func unfinishedRunIsRefused() throws {
    let fixture = try Fixture()
    try fixture.store.setStatus(.failed, ofRun: "b")
    #expect(throws: StoreError.runIncomplete("b", status: "failed", store: fixture.store.path)) {
      try fixture.store.ranking(runs: ["a", "b"], threads: 2)
    }
    // Without metrics, diff compares whatever parameters the run has, as before.
    _ = try fixture.store.diff("a", "b")
  }
}

// MARK: - Fixture

extension StreamingMetricsTests {
  /// Two runs recorded from one multi-step synthetic recording with different settings.
  private struct Fixture {
    static let steps = 5
    static let tokens = 16
    static let hidden = 128
    let directory: TemporaryDirectory
    let store: CalibrationStore

    init() throws {
      directory = try TemporaryDirectory()
      let input = try SyntheticRecording(
        in: directory, steps: Self.steps, modules: 2, tokens: Self.tokens, hidden: Self.hidden)
      store = try CalibrationStore(path: directory.path("store.sqlite"))
      let recipeA = try String(contentsOfFile: input.recipeFile, encoding: .utf8)
      let recipeB = recipeA.replacingOccurrences(of: "num_bits: 8, type: int", with: "num_bits: 6, type: int")
        .replacingOccurrences(of: "num_bits: 4, type: int", with: "num_bits: 3, type: int")
      #expect(recipeB != recipeA)
      for (name, recipe) in [("a", recipeA), ("b", recipeB)] {
        _ = try Recorder(store: store).record(
          RecordRequest(runName: name, recipe: (recipe, name), weightFiles: [input.weightsFile], stepFiles: input.stepFiles))
      }
    }

    /// Every run's error per "module.base", decoding all steps of a pair before measuring
    /// (the computation before streaming), on run `a`'s samples.
    func allAtOnce(runs: [String], onlyLastStep: Bool = false) throws -> [String: [String: QuantizationError]] {
      let samples = try store.samples(ofRecording: "a").filter { !$0.isNonFinite }
      let finals = try runs.map { try store.finalQParams(ofRun: $0) }
      var result: [String: [String: QuantizationError]] = [:]
      for entry in finals[0] {
        var steps = samples.filter { $0.module == entry.module && $0.baseName == entry.baseName }.sorted { $0.step < $1.step }
        if onlyLastStep { steps = Array(steps.suffix(1)) }
        let values = try steps.map { try store.sampleTensor($0) }
        for (run, entries) in zip(runs, finals) {
          guard let e = entries.first(where: { $0.module == entry.module && $0.baseName == entry.baseName }),
            let json = e.argsJSON
          else { continue }
          let args = try JSONDecoder().decode(QuantizationArgs.self, from: Data(json.utf8))
          let p = e.parameters
          let qparams = p.scale.map {
            QuantizationParameters(
              scale: $0, zeroPoint: p.zeroPoint ?? Tensor(shape: $0.shape, repeating: 0),
              zeroPointDType: p.zeroPointDType ?? args.zpDType)
          }
          var total = QuantizationError()
          for v in values {
            total.add(try QuantizationError.of(
              v, as: entry.baseName, args: args, parameters: args.dynamic.isDynamic ? nil : qparams,
              globalScale: p.globalScale))
          }
          result["\(entry.module).\(entry.baseName.rawValue)", default: [:]][run] = total
        }
      }
      return result
    }
  }
}
