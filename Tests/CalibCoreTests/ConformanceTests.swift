import CalibCore
import CalibFormats
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

/// One case of `cases.json`.
struct ConformanceCase {
  let id: String
  let baseName: BaseName
  let args: [String: Any]
  let resolvedArgs: [String: Any]
  let observer: String
  let observerKwargs: [String: Any]
  let qdq: Bool
  let preset: [String]?
  let sampleKey: String
  let stepCount: Int
  let globalScaleSteps: [Bool]

  /// The case's arguments: the preset section, or `args`, with its observer and kwargs.
  func arguments() throws -> QuantizationArgs {
    var object = args
    if let preset {
      let scheme = try PresetSchemes.scheme(named: preset[0])
      let section: QuantizationArgs? =
        switch preset[1] {
        case "weights": scheme.weights
        case "input_activations": scheme.inputActivations
        default: scheme.outputActivations
        }
      let encoded = try JSONSerialization.jsonObject(with: JSONEncoder().encode(section))
      object = encoded as? [String: Any] ?? [:]
    }
    object["observer"] = observer
    object["observer_kwargs"] = observerKwargs
    let data = try JSONSerialization.data(withJSONObject: object)
    return try JSONDecoder().decode(QuantizationArgs.self, from: data)
  }
}

struct FixtureError: Error, CustomStringConvertible {
  let description: String
}

func need<T>(_ value: T?, _ what: String) throws -> T {
  guard let value else { throw FixtureError(description: "cases.json: missing or malformed \(what)") }
  return value
}

struct ConformanceFixture {
  let directory: URL
  let cases: [ConformanceCase]
  let expected: SafetensorsFile

  static func load() throws -> ConformanceFixture {
    let dir: URL
    if let env = ProcessInfo.processInfo.environment["CALIB_CONFORMANCE_DIR"], !env.isEmpty {
      dir = URL(fileURLWithPath: env)
    } else {
      dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/minilm")
    }
    let data = try Data(contentsOf: dir.appendingPathComponent("cases.json"))
    let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let list = try #require(root["cases"] as? [[String: Any]])
    let cases = try list.map { c -> ConformanceCase in
      let steps = try need(c["steps"] as? [[String: Any]], "steps")
      return ConformanceCase(
        id: try need(c["id"] as? String, "id"),
        baseName: try need(BaseName(rawValue: c["base_name"] as? String ?? ""), "base_name"),
        args: try need(c["args"] as? [String: Any], "args"),
        resolvedArgs: try need(c["resolved_args"] as? [String: Any], "resolved_args"),
        observer: try need(c["observer"] as? String, "observer"),
        observerKwargs: c["observer_kwargs"] as? [String: Any] ?? [:],
        qdq: c["qdq"] as? Bool ?? false,
        preset: c["preset"] as? [String],
        sampleKey: try need(c["sample_key"] as? String, "sample_key"),
        stepCount: steps.count,
        globalScaleSteps: steps.map { $0["global_scale"] as? Bool ?? false })
    }
    let expected = try SafetensorsFile(path: dir.appendingPathComponent("expected.safetensors").path)
    return ConformanceFixture(directory: dir, cases: cases, expected: expected)
  }

  func sample(_ c: ConformanceCase, step: Int) throws -> Tensor {
    let file =
      c.baseName == .weight
      ? "weights.safetensors" : String(format: "step-%04d.safetensors", step)
    return try SafetensorsFile(path: directory.appendingPathComponent(file).path).tensor(c.sampleKey)
  }

  /// Runs one case and returns a line per mismatch.
  func check(_ c: ConformanceCase) throws -> [String] {
    let args = try c.arguments()
    var observer = try Observer(baseName: c.baseName, args: args)
    var produced: [String: Tensor] = [:]
    for step in 0..<c.stepCount {
      let x = try sample(c, step: step)
      let key = "\(c.id)/\(step)/"
      var global: Float?
      if c.globalScaleSteps[step] || args.strategy == .tensorGroup {
        global = try observer.observeGlobalScale(x)
        produced[key + "global_scale"] = Tensor(shape: [1], values: [global ?? .nan])
      }
      guard !args.dynamic.isDynamic else { continue }
      let p = try #require(try observer.observe(x, globalScale: global))
      produced[key + "scale"] = p.scale
      produced[key + "zero_point"] = p.zeroPoint
      if let mn = observer.state.minValues, let mx = observer.state.maxValues {
        produced[key + "min_vals"] = mn
        produced[key + "max_vals"] = mx
      }
      if c.qdq {
        produced[key + "qdq"] = try args.fakeQuantized(
          x, as: c.baseName, parameters: p, globalScale: global)
      }
    }
    return try compare(c, produced: produced, tolerant: ObserverKind(registryName: c.observer).searchesMSE,
      grid: ObserverSettings(kind: ObserverKind(registryName: c.observer), kwargs: args.observerKwargs).grid)
  }

  func compare(_ c: ConformanceCase, produced: [String: Tensor], tolerant: Bool, grid: Double) throws
    -> [String]
  {
    var failures: [String] = []
    var total = 0
    var identical = 0
    for entry in expected.entries where entry.name.hasPrefix(c.id + "/") {
      let want = try expected.tensor(entry.name)
      guard let got = produced[entry.name] else {
        failures.append("\(entry.name): not produced")
        continue
      }
      guard got.shape == want.shape || (got.elementCount == want.elementCount && !tolerant) else {
        failures.append("\(entry.name): shape \(got.shape) != \(want.shape)")
        continue
      }
      for (i, (a, b)) in zip(got.values, want.values).enumerated() {
        total += 1
        if a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN) {
          identical += 1
          continue
        }
        let relative = Double(abs(a - b)) / Double(max(abs(a), abs(b)))
        if !tolerant || relative > 2 / grid {
          failures.append("\(entry.name)[\(i)]: \(a) != \(b) (rel \(relative))")
        }
      }
    }
    if tolerant && total > 0 && Double(identical) < 0.995 * Double(total) {
      failures.append("\(c.id): only \(identical) of \(total) entries bit-identical (< 99.5 %)")
    }
    return failures
  }
}
