import CalibCore
import CalibTestSupport
import Foundation
import Testing

/// `calib record` then `calib show --steps --format json` gives the reference's answers in
/// bf16 arithmetic, per step and dtype for dtype, for every case of the bf16 conformance
/// set; a replay from a recording made in float32 arithmetic with another observer gives
/// them too once asked for model arithmetic.
@Suite struct ModelArithmeticCLITests {
  @Test func recordAndShowReproduceTheBF16Set() async throws {
    let fixture = try ConformanceFixture.load(directory: ConformanceFixture.repositoryDirectory("minilm-bf16"))
    #expect(fixture.arithmetic == .bfloat16)
    let dir = try TemporaryDirectory()
    let store = dir.path("s.sqlite")
    var failures: [String] = []
    for c in fixture.cases {
      let recipe = dir.path("\(c.id).json")
      try c.recipeJSON().write(toFile: recipe, atomically: true, encoding: .utf8)
      let base = ["--weights", fixture.weightsFile] + fixture.stepFiles(for: c)
      await calibSucceeds(["record", store, "--run", c.id, "--recipe", recipe, "-q"] + base)
      failures += try await compare(c, fixture: fixture, store: store, run: c.id)
      // Record with another observer in float32, then replay as the case in model arithmetic.
      let other = dir.path("\(c.id)-other.json")
      try c.recipeJSON(observer: c.baseName == .weight ? "memoryless_mse" : "memoryless_minmax").write(toFile: other, atomically: true, encoding: .utf8)
      await calibSucceeds(["record", store, "--run", "\(c.id)-f32", "--recipe", other, "--arithmetic", "float32", "-q"] + base)
      await calibSucceeds(["replay", store, "--from", "\(c.id)-f32", "--name", "\(c.id)-replayed", "--recipe", recipe, "--arithmetic", "model", "-q"])
      failures += try await compare(c, fixture: fixture, store: store, run: "\(c.id)-replayed")
    }
    #expect(failures.isEmpty, "\(failures.prefix(30).joined(separator: "\n"))")
  }

  /// Scales and their dtypes per step, as `show` prints them, against the fixture.
  private func compare(_ c: ConformanceCase, fixture: ConformanceFixture, store: String, run: String) async throws -> [String] {
    let shown = try JSONSerialization.jsonObject(
      with: Data(await calibOutput(["show", store, run, "--steps", "--format", "json", "--module", c.module, "--base-name", c.baseName.rawValue]).utf8))
    guard let entry = (shown as? [[String: Any]])?.first, let steps = entry["steps"] as? [[String: Any]] else {
      return ["\(run): no entry in show"]
    }
    var failures: [String] = []
    if entry["arithmetic"] as? String != "model" { failures.append("\(run): arithmetic \(entry["arithmetic"] ?? "-")") }
    let kind = try ObserverKind(registryName: c.observer)
    for step in steps {
      let index = step["step"] as? Int ?? -1
      guard let scale = step["scale"] as? [String: Any], let values = scale["values"] as? [Any] else { continue }
      if index < c.stepDTypes.count, let want = c.stepDTypes[index]["scale_dtype"], "torch." + (scale["dtype"] as? String ?? "") != want {
        failures.append("\(run)/\(index): scale dtype \(scale["dtype"] ?? "-") != \(want)")
      }
      let key = "\(c.id)/\(index)/scale"
      guard fixture.expected.entry(named: key) != nil else { continue }
      let expected = try fixture.expected.tensor(key).values
      let got = values.map { v -> Float in
        if let d = v as? Double { return Float(d) }
        return Float(v as? String ?? "nan") ?? .nan
      }
      let identical = zip(got, expected).filter { $0.bitPattern == $1.bitPattern }.count
      // MSE searches may pick the neighbouring shrink factor on near-ties (README).
      let required = kind.searchesMSE ? Int((0.995 * Double(expected.count)).rounded(.up)) : expected.count
      if got.count != expected.count || identical < required {
        failures.append("\(run)/\(index): \(identical) of \(expected.count) scales bit-identical")
      }
    }
    return failures
  }

  private func calibOutput(_ arguments: [String]) async -> String {
    await calibSucceeds(arguments).stdout
  }
}
