import CalibCore
import CalibTestSupport
import Foundation
import Testing

/// Runs every case of every conformance fixture set (the repository's
/// `Tests/Fixtures/minilm` in float32 and `Tests/Fixtures/minilm-bf16` in bf16 arithmetic,
/// or only the directory in `CALIB_CONFORMANCE_DIR`) generically from its `cases.json`,
/// feeding the samples in the set's `arithmetic`, and compares every expected tensor and
/// dtype of every step with the reference's answers.
///
/// Agreement (``ConformanceFixture/compare(_:produced:skipping:)``): equal shapes and
/// bit-identical values and dtypes; any non-finite mismatch fails; a case with no expected
/// tensors fails. The one exception is MSE observers' searched scales and ranges: per
/// tensor, at least 99.5 % bit-identical and the rest within one grid step (relative
/// difference at most 2 / grid), where a near-tie in the error sum picked the neighbouring
/// shrink factor; zero points are not pooled into that count.
@Suite struct ConformanceTests {
  @Test func everyCaseMatchesTheReference() throws {
    var failures: [String] = []
    for fixture in try ConformanceFixture.loadAll() {
      #expect(fixture.cases.count > 0, "\(fixture.directory.lastPathComponent): no cases")
      var clean = 0
      var identical = 0
      var notes: [String] = []
      for c in fixture.cases {
        let (found, tolerated) = try fixture.checkCounting(c)
        if found.isEmpty { clean += 1 }
        if found.isEmpty && tolerated == 0 { identical += 1 }
        if tolerated > 0 {
          notes.append("\(c.id): \(tolerated) \(c.observer == "modelopt_mse_sweep" ? "losses within float32 rounding" : "within one grid step")")
        }
        failures += found.map { "\(fixture.directory.lastPathComponent) \($0)" }
      }
      print(
        "conformance \(fixture.directory.lastPathComponent) (\(fixture.arithmetic)): \(clean) of "
          + "\(fixture.cases.count) cases agree, \(identical) bit-identical throughout"
          + (notes.isEmpty ? "" : "; " + notes.joined(separator: ", ")))
    }
    #expect(failures.count == 0, "mismatches:\n\(failures.prefix(60).joined(separator: "\n"))")
  }

  @Test func resolvedArgumentsMatchTheReference() throws {
    for fixture in try ConformanceFixture.loadAll() {
      for c in fixture.cases {
        let args = try c.arguments()
        let ours = try JSONSerialization.jsonObject(with: JSONEncoder().encode(args)) as? NSDictionary
        let theirs = c.resolvedArgs as NSDictionary
        #expect(ours == theirs, "case \(c.id): \(String(describing: ours)) != \(theirs)")
      }
    }
  }
}
