import CalibCore
import CalibStore
import CalibTestSupport
import Foundation
import Testing

/// Recording the conformance fixtures with a recipe per case stores, per step and final,
/// exactly the reference's parameters and dtypes, each set in the arithmetic its
/// `cases.json` names (same agreement rules as the CalibCore conformance test; the
/// fake-quantized outputs are not stored, so `qdq` is not compared here).
@Suite struct RecordConformanceTests {
  @Test(arguments: try ConformanceFixture.loadAll())
  func recordingEveryCaseStoresTheReferenceParameters(fixture: ConformanceFixture) throws {
    let dir = try TemporaryDirectory()
    let store = try CalibrationStore(path: dir.path("store.sqlite"))
    let weights = fixture.weightsFile
    var failures: [String] = []
    for c in fixture.cases {
      var request = RecordRequest(
        runName: c.id, recipe: (try c.recipeJSON(), "\(c.id).json"), weightFiles: [weights],
        stepFiles: fixture.stepFiles(for: c))
      request.arithmetic = fixture.recordingArithmetic
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
        produced.merge(ConformanceFixture.histogramTensors(s.state.histogram, key: key)) { $1 }
        if let sweep = s.state.sweep { produced[key + "sweep_losses"] = ConformanceFixture.lossTensor(sweep) }
      }
      // imatrix_mse's importance is internal to the observer; the store keeps its result.
      failures += try fixture.compare(c, produced: produced, skipping: ["qdq", "importance"])
      failures += fixture.dtypeMismatches(c, states: states)
      let final = try #require(try store.finalQParams(ofRun: c.id).first { $0.module == c.module && $0.baseName == c.baseName })
      #expect(final.parameters == states.last?.parameters, "case \(c.id): final parameters differ from the last step")
    }
    #expect(failures.count == 0, "mismatches:\n\(failures.prefix(40).joined(separator: "\n"))")
  }
}

extension ConformanceFixture {
  /// The run arithmetic that reproduces this set: `float32` for the float32 set, `model`
  /// (the samples' dtype) for a set answered in bf16 or f16.
  var recordingArithmetic: Arithmetic { arithmetic == .float32 ? .float32 : .model }

  /// Steps whose stored scale or zero-point dtype is not the one torch returned.
  func dtypeMismatches(_ c: ConformanceCase, states: [QParamsEntry]) -> [String] {
    states.compactMap { s in
      guard let step = s.step, step < c.stepDTypes.count else { return nil }
      let want = c.stepDTypes[step]
      var problems: [String] = []
      if let scale = want["scale_dtype"], let got = s.parameters.scale?.dtype.torchName, got != scale {
        problems.append("scale \(got) != \(scale)")
      }
      if let zp = want["zero_point_dtype"], let got = s.parameters.zeroPointDType?.rawValue, got != zp {
        problems.append("zero_point \(got) != \(zp)")
      }
      return problems.isEmpty ? nil : "\(c.id)/\(step): dtype \(problems.joined(separator: ", "))"
    }
  }
}
