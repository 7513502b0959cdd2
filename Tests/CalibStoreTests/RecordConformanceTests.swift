import CalibCore
import CalibStore
import CalibTestSupport
import Foundation
import Testing

/// Recording the conformance fixtures with a recipe per case stores, per step and final,
/// exactly the reference's parameters (same agreement rules as the CalibCore conformance
/// test; the fake-quantized outputs are not stored, so `qdq` is not compared here).
@Suite struct RecordConformanceTests {
  @Test func recordingEveryCaseStoresTheReferenceParameters() throws {
    let fixture = try ConformanceFixture.load()
    let dir = try TemporaryDirectory()
    let store = try CalibrationStore(path: dir.path("store.sqlite"))
    let weights = fixture.weightsFile
    var failures: [String] = []
    for c in fixture.cases {
      let request = RecordRequest(
        runName: c.id, recipe: (try c.recipeJSON(), "\(c.id).json"), weightFiles: [weights],
        stepFiles: fixture.stepFiles(for: c))
      _ = try Recorder(store: store).record(request)
      var produced: [String: Tensor] = [:]
      let states = try store.stepStates(ofRun: c.id).filter { $0.module == c.module && $0.baseName == c.baseName }
      for s in states {
        let key = "\(c.id)/\(s.step ?? -1)/"
        produced[key + "scale"] = s.parameters.scale
        produced[key + "zero_point"] = s.parameters.zeroPoint
        produced[key + "global_scale"] = s.parameters.globalScale.map { Tensor(shape: [1], values: [$0]) }
        produced[key + "min_vals"] = s.state.minValues
        produced[key + "max_vals"] = s.state.maxValues
      }
      failures += try fixture.compare(c, produced: produced, skipping: ["qdq"])
      let final = try #require(try store.finalQParams(ofRun: c.id).first { $0.module == c.module && $0.baseName == c.baseName })
      #expect(final.parameters == states.last?.parameters, "case \(c.id): final parameters differ from the last step")
    }
    #expect(failures.count == 0, "mismatches:\n\(failures.prefix(40).joined(separator: "\n"))")
  }
}
