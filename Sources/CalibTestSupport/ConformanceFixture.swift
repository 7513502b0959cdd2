import CalibCore
import CalibFormats
import Foundation

/// One case of `cases.json`.
public struct ConformanceCase: @unchecked Sendable {
  public let id: String
  public let module: String
  public let baseName: BaseName
  public let args: [String: Any]
  public let resolvedArgs: [String: Any]
  public let observer: String
  public let observerKwargs: [String: Any]
  public let qdq: Bool
  public let preset: [String]?
  public let sampleKey: String
  public let stepCount: Int
  public let globalScaleSteps: [Bool]

  /// The case's arguments: the preset section, or `args`, with its observer and kwargs.
  public func arguments() throws -> QuantizationArgs {
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

  /// A recipe (JSON) with one config group that targets exactly this case's module with
  /// its arguments in the section its base name reads; `observer` replaces the case's
  /// observer (and drops its kwargs).
  public func recipeJSON(observer replacement: String? = nil) throws -> String {
    let section =
      switch baseName {
      case .weight: "weights"
      case .output: "output_activations"
      default: "input_activations"
      }
    var args = try JSONSerialization.jsonObject(with: JSONEncoder().encode(arguments())) as? [String: Any] ?? [:]
    if let replacement {
      args["observer"] = replacement
      args["observer_kwargs"] = [String: Any]()
    }
    let recipe: [String: Any] = ["config_groups": ["case": ["targets": [module], section: args]]]
    return String(decoding: try JSONSerialization.data(withJSONObject: recipe, options: [.sortedKeys]), as: UTF8.self)
  }
}

public struct FixtureError: Error, CustomStringConvertible {
  public let description: String
}

public func need<T>(_ value: T?, _ what: String) throws -> T {
  guard let value else { throw FixtureError(description: "cases.json: missing or malformed \(what)") }
  return value
}

public struct ConformanceFixture: Sendable {
  public let directory: URL
  public let cases: [ConformanceCase]
  public let expected: SafetensorsFile

  /// The fixture set in `CALIB_CONFORMANCE_DIR`, or the repository's `Tests/Fixtures/minilm`.
  public static func load() throws -> ConformanceFixture {
    let dir: URL
    if let env = ProcessInfo.processInfo.environment["CALIB_CONFORMANCE_DIR"], !env.isEmpty {
      dir = URL(fileURLWithPath: env)
    } else {
      dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Tests/Fixtures/minilm")
    }
    let data = try Data(contentsOf: dir.appendingPathComponent("cases.json"))
    let root = try need(try JSONSerialization.jsonObject(with: data) as? [String: Any], "root object")
    let list = try need(root["cases"] as? [[String: Any]], "cases")
    let cases = try list.map { c -> ConformanceCase in
      let steps = try need(c["steps"] as? [[String: Any]], "steps")
      return ConformanceCase(
        id: try need(c["id"] as? String, "id"),
        module: try need(c["module"] as? String, "module"),
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

  /// The step files of the fixture set, in order (`step-0000.safetensors`, …).
  public var stepFiles: [String] {
    let max = cases.map(\.stepCount).max() ?? 0
    return (0..<max).map { directory.appendingPathComponent(String(format: "step-%04d.safetensors", $0)).path }
  }

  /// The weights file of the fixture set.
  public var weightsFile: String { directory.appendingPathComponent("weights.safetensors").path }

  /// The step files a case observes: the first for weights, all for activations.
  public func stepFiles(for c: ConformanceCase) -> [String] {
    Array(stepFiles.prefix(c.baseName == .weight ? 1 : c.stepCount))
  }

  public func sample(_ c: ConformanceCase, step: Int) throws -> Tensor {
    let file =
      c.baseName == .weight
      ? "weights.safetensors" : String(format: "step-%04d.safetensors", step)
    return try SafetensorsFile(path: directory.appendingPathComponent(file).path).tensor(c.sampleKey)
  }

  /// Runs one case and returns a line per mismatch.
  public func check(_ c: ConformanceCase) throws -> [String] {
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
      let p = try need(try observer.observe(x, globalScale: global), "parameters of \(c.id) step \(step)")
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
    return try compare(c, produced: produced)
  }

  /// Compares produced tensors (keyed `<case>/<step>/<what>`) with every expected tensor
  /// of the case: bit-identical, or for MSE observers ≥ 99.5 % bit-identical and the rest
  /// within one grid step.
  /// `skipping` names kinds of tensors not compared (e.g. `qdq`).
  public func compare(_ c: ConformanceCase, produced: [String: Tensor], skipping: Set<String> = []) throws
    -> [String]
  {
    let kind = try ObserverKind(registryName: c.observer)
    let tolerant = kind.searchesMSE
    let grid = try ObserverSettings(kind: kind, kwargs: try c.arguments().observerKwargs).grid
    var failures: [String] = []
    var total = 0
    var identical = 0
    for entry in expected.entries where entry.name.hasPrefix(c.id + "/") {
      if let what = entry.name.split(separator: "/").last, skipping.contains(String(what)) { continue }
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
