import CalibCore
import CalibTestSupport
import Foundation
import Testing

/// Runs every case of a conformance fixture set (default: `Tests/Fixtures/minilm`, or the
/// directory in `CALIB_CONFORMANCE_DIR`) generically from its `cases.json` and compares
/// every expected tensor of every step with the reference's answers.
///
/// Agreement: bit-identical float32, except for MSE observers, where at least 99.5 % of
/// entries must be bit-identical and the rest within one grid step (relative difference
/// at most 2 / grid) — a near-tie in the error sum may pick the neighbouring shrink factor.
@Suite struct ConformanceTests {
  @Test func everyCaseMatchesTheReference() throws {
    let fixture = try ConformanceFixture.load()
    #expect(fixture.cases.count > 0)
    var failures: [String] = []
    for c in fixture.cases {
      failures += try fixture.check(c)
    }
    #expect(failures.count == 0, "mismatches:\n\(failures.prefix(40).joined(separator: "\n"))")
  }

  @Test func resolvedArgumentsMatchTheReference() throws {
    let fixture = try ConformanceFixture.load()
    for c in fixture.cases {
      let args = try c.arguments()
      let ours = try JSONSerialization.jsonObject(with: JSONEncoder().encode(args)) as? NSDictionary
      let theirs = c.resolvedArgs as NSDictionary
      #expect(ours == theirs, "case \(c.id): \(String(describing: ours)) != \(theirs)")
    }
  }
}
