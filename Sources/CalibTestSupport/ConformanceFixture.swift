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
  /// Per step, the dtypes the reference returned (`scale_dtype`, `zero_point_dtype`,
  /// `global_scale_dtype`, `qdq_dtype`), as far as `cases.json` lists them.
  public let stepDTypes: [[String: String]]
  /// imatrix_mse cases: the sample key of the module's inputs (`input_key`) and how many
  /// steps of them the reference fed through the observer's hook (`input_steps`).
  public var inputKey: String? = nil
  public var inputSteps = 0

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

/// A field of `cases.json`, or an error naming it when it is missing or malformed.
public func requireField<T>(_ value: T?, _ what: String) throws -> T {
  guard let value else { throw FixtureError(description: "cases.json: missing or malformed \(what)") }
  return value
}

/// A set of conformance cases with the reference's answers (`Tests/Fixtures/<name>/`).
///
/// The set's top-level `arithmetic` in `cases.json` (`"float32"` when absent, or
/// `"bfloat16"`/`"float16"`) is the dtype its samples are fed in: every sample tensor is
/// tagged with it, so the observers compute as torch did on tensors of that dtype.
public struct ConformanceFixture: Sendable {
  public let directory: URL
  public let cases: [ConformanceCase]
  public let expected: SafetensorsFile
  /// The dtype the samples are fed in (top-level `arithmetic`).
  public let arithmetic: FloatDType

  /// The names of the repository's fixture sets under `Tests/Fixtures`.
  public static let repositorySets = [
    "minilm", "minilm-bf16", "peers", "peers-bf16", "llmc-main", "llmc-main-bf16",
  ]

  /// The fixture sets to run: the one in `CALIB_CONFORMANCE_DIR` alone when it is set,
  /// otherwise every repository set.
  public static func loadAll() throws -> [ConformanceFixture] {
    if let env = ProcessInfo.processInfo.environment["CALIB_CONFORMANCE_DIR"], !env.isEmpty {
      return [try load(directory: URL(fileURLWithPath: env))]
    }
    return try repositorySets.map { try load(directory: repositoryDirectory($0)) }
  }

  /// The repository's `Tests/Fixtures/<name>`.
  public static func repositoryDirectory(_ name: String) -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("Tests/Fixtures/\(name)")
  }

  /// The fixture set in `CALIB_CONFORMANCE_DIR`, or the repository's `Tests/Fixtures/minilm`.
  public static func load() throws -> ConformanceFixture {
    if let env = ProcessInfo.processInfo.environment["CALIB_CONFORMANCE_DIR"], !env.isEmpty {
      return try load(directory: URL(fileURLWithPath: env))
    }
    return try load(directory: repositoryDirectory("minilm"))
  }

  /// The fixture set in a directory.
  public static func load(directory dir: URL) throws -> ConformanceFixture {
    let data = try Data(contentsOf: dir.appendingPathComponent("cases.json"))
    let root = try requireField(try JSONSerialization.jsonObject(with: data) as? [String: Any], "root object")
    let list = try requireField(root["cases"] as? [[String: Any]], "cases")
    let arithmetic = try requireField(
      FloatDType(rawValue: root["arithmetic"] as? String ?? "float32"), "arithmetic (float32, bfloat16 or float16)")
    let cases = try list.map { c -> ConformanceCase in
      let steps = try requireField(c["steps"] as? [[String: Any]], "steps")
      var parsed = ConformanceCase(
        id: try requireField(c["id"] as? String, "id"),
        module: try requireField(c["module"] as? String, "module"),
        baseName: try requireField(BaseName(rawValue: c["base_name"] as? String ?? ""), "base_name"),
        args: try requireField(c["args"] as? [String: Any], "args"),
        resolvedArgs: try requireField(c["resolved_args"] as? [String: Any], "resolved_args"),
        observer: try requireField(c["observer"] as? String, "observer"),
        observerKwargs: c["observer_kwargs"] as? [String: Any] ?? [:],
        qdq: c["qdq"] as? Bool ?? false,
        preset: c["preset"] as? [String],
        sampleKey: try requireField(c["sample_key"] as? String, "sample_key"),
        stepCount: steps.count,
        globalScaleSteps: steps.map { $0["global_scale"] as? Bool ?? false },
        stepDTypes: steps.map { step in step.compactMapValues { $0 as? String } })
      parsed.inputKey = c["input_key"] as? String
      parsed.inputSteps = c["input_steps"] as? Int ?? 0
      return parsed
    }
    let expected = try SafetensorsFile(path: dir.appendingPathComponent("expected.safetensors").path)
    return ConformanceFixture(directory: dir, cases: cases, expected: expected, arithmetic: arithmetic)
  }

  /// The step files of the fixture set, in order (`step-0000.safetensors`, …).
  public var stepFiles: [String] {
    let max = cases.map(\.stepCount).max() ?? 0
    return (0..<max).map { directory.appendingPathComponent(String(format: "step-%04d.safetensors", $0)).path }
  }

  /// The weights file of the fixture set.
  public var weightsFile: String { directory.appendingPathComponent("weights.safetensors").path }

  /// The step files a case observes: the first for weights, all for activations; for an
  /// imatrix_mse weight, the steps whose inputs weight it.
  public func stepFiles(for c: ConformanceCase) -> [String] {
    if c.inputKey != nil { return Array(stepFiles(count: c.inputSteps)) }
    return Array(stepFiles.prefix(c.baseName == .weight ? 1 : c.stepCount))
  }

  /// The first `count` step files of the set's directory.
  private func stepFiles(count: Int) -> [String] {
    (0..<count).map { directory.appendingPathComponent(String(format: "step-%04d.safetensors", $0)).path }
  }

  /// The value a case observes at a step, tagged with the set's ``arithmetic``.
  ///
  /// - Throws: ``FixtureError`` when a value is not exactly representable in it.
  public func sample(_ c: ConformanceCase, step: Int) throws -> Tensor {
    let file =
      c.baseName == .weight
      ? "weights.safetensors" : String(format: "step-%04d.safetensors", step)
    var x = try SafetensorsFile(path: directory.appendingPathComponent(file).path).tensor(c.sampleKey)
    guard x.values.allSatisfy(arithmetic.represents) else {
      throw FixtureError(description: "\(file) \(c.sampleKey): values not representable in \(arithmetic)")
    }
    x.dtype = arithmetic
    return x
  }

  /// Runs one case in the set's arithmetic and returns a line per mismatch, values and
  /// dtypes alike.
  public func check(_ c: ConformanceCase) throws -> [String] {
    try checkCounting(c).failures
  }

  /// ``check(_:)``, also counting the entries accepted only by the MSE rule (0 when the
  /// case is bit-identical throughout).
  public func checkCounting(_ c: ConformanceCase) throws -> (failures: [String], tolerated: Int) {
    let args = try c.arguments()
    var observer = try Observer(baseName: c.baseName, args: args)
    var produced: [String: Tensor] = [:]
    if c.inputKey != nil {
      let importance = try inputImportance(c)
      observer.inputImportance = importance
      if let weights = try? importance.normalizedWeights() {
        produced["\(c.id)/0/importance"] = Tensor(shape: [weights.count], values: weights)
      }
    }
    var dtypes: [[String: String]] = []
    for step in 0..<c.stepCount {
      let x = try sample(c, step: step)
      let key = "\(c.id)/\(step)/"
      var stepDTypes: [String: String] = [:]
      defer { dtypes.append(stepDTypes) }
      var global: Float?
      if c.globalScaleSteps[step] || args.strategy == .tensorGroup {
        global = try observer.observeGlobalScale(x)
        produced[key + "global_scale"] = Tensor(shape: [1], values: [global ?? .nan])
        stepDTypes["global_scale_dtype"] = QuantizationParameters.globalScaleDType.rawValue
      }
      guard !args.dynamic.isDynamic else { continue }
      let p = try requireField(try observer.observe(x, globalScale: global), "parameters of \(c.id) step \(step)")
      produced[key + "scale"] = p.scale
      produced[key + "zero_point"] = p.zeroPoint
      stepDTypes["scale_dtype"] = p.scaleDType.rawValue
      stepDTypes["zero_point_dtype"] = p.zeroPointDType.rawValue
      if let mn = observer.state.minValues, let mx = observer.state.maxValues {
        produced[key + "min_vals"] = mn
        produced[key + "max_vals"] = mx
      }
      produced.merge(Self.histogramTensors(observer.state.histogram, key: key)) { $1 }
      if let sweep = observer.state.sweep { produced[key + "sweep_losses"] = Self.lossTensor(sweep) }
      if c.qdq {
        let out = try args.fakeQuantized(x, as: c.baseName, parameters: p, globalScale: global)
        produced[key + "qdq"] = out
        stepDTypes["qdq_dtype"] = out.dtype.torchName
      }
    }
    var tolerated = 0
    var failures = try compare(c, produced: produced, skipping: [], tolerated: &tolerated)
    for (step, want) in c.stepDTypes.enumerated() {
      for (what, name) in want.sorted(by: { $0.key < $1.key }) where what.hasSuffix("_dtype") {
        let got = step < dtypes.count ? dtypes[step][what] : nil
        if got != name { failures.append("\(c.id)/\(step)/\(what): \(got ?? "not produced") != \(name)") }
      }
    }
    return (failures, tolerated)
  }

  /// An imatrix_mse case's importance: its module's inputs (`input_key`) of the first
  /// `input_steps` step files, accumulated in order.
  public func inputImportance(_ c: ConformanceCase) throws -> InputImportance {
    let key = try requireField(c.inputKey, "input_key of \(c.id)")
    let weight = try sample(c, step: 0)
    var importance = InputImportance(channels: weight.shape.last ?? 0)
    for step in 0..<c.inputSteps {
      let file = directory.appendingPathComponent(String(format: "step-%04d.safetensors", step)).path
      try importance.accumulate(try SafetensorsFile(path: file).tensor(key))
    }
    return importance
  }

  /// Compares produced tensors (keyed `<case>/<step>/<what>`) with every expected tensor
  /// of the case, strictly:
  /// - shapes must be equal (not just element counts), and a case with no expected
  ///   tensors fails;
  /// - every element must be bit-identical (any NaN matches any NaN; a non-finite value
  ///   against anything else always fails);
  /// - except for MSE observers' searched quantities (`scale`, `global_scale`, `min_vals`,
  ///   `max_vals`), where each tensor on its own must be ≥ 99.5 % bit-identical and the rest
  ///   within one grid step (relative difference at most 2 / grid): a near-tie in the error
  ///   sum may pick the neighbouring shrink factor. Zero points are not pooled into that
  ///   count: one must be bit-identical wherever its scale is, and within one level
  ///   where the scale took the neighbouring step.
  ///
  /// `skipping` names kinds of tensors not compared (e.g. `qdq`).
  public func compare(_ c: ConformanceCase, produced: [String: Tensor], skipping: Set<String> = []) throws
    -> [String]
  {
    var tolerated = 0
    return try compare(c, produced: produced, skipping: skipping, tolerated: &tolerated)
  }

  /// ``compare(_:produced:skipping:)``, adding to `tolerated` the entries that are not
  /// bit-identical but within the MSE rule.
  public func compare(
    _ c: ConformanceCase, produced: [String: Tensor], skipping: Set<String>, tolerated: inout Int
  ) throws -> [String] {
    let kind = try ObserverKind(registryName: c.observer)
    let tolerantCase = kind.searchesMSE || kind.isExpandedSearch
    let grid = try ObserverSettings(kind: kind, kwargs: try c.arguments().observerKwargs).grid
    let searched: Set<String> = ["scale", "global_scale", "min_vals", "max_vals"]
    var failures: [String] = []
    let entries = expected.entries.filter { $0.name.hasPrefix(c.id + "/") }
    if entries.isEmpty { return ["\(c.id): no expected tensors"] }
    for entry in entries {
      let what = String(entry.name.split(separator: "/").last ?? "")
      if skipping.contains(what) { continue }
      let want = try expected.tensor(entry.name)
      guard let got = produced[entry.name] else {
        failures.append("\(entry.name): not produced")
        continue
      }
      guard got.shape == want.shape else {
        failures.append("\(entry.name): shape \(got.shape) != \(want.shape)")
        continue
      }
      let tolerant = tolerantCase && searched.contains(what)
      // For zero points of MSE cases: where the scale differs, one level of slack.
      let scaleDiffers = tolerantCase && what == "zero_point" ? try scaleDifferences(of: entry.name, produced: produced) : nil
      failures += compareValues(
        entry.name, got: got.values, want: want.values, tolerant: tolerant, grid: grid,
        scaleDiffers: scaleDiffers, tolerated: &tolerated)
    }
    return failures
  }

  /// For the zero point `name`: whether each element of the produced scale beside it
  /// differs from the expected one; nil when either scale is missing or their sizes differ.
  private func scaleDifferences(of name: String, produced: [String: Tensor]) throws -> [Bool]? {
    let scaleKey = String(name.dropLast("zero_point".count) + "scale")
    guard let gs = produced[scaleKey], expected.entries.contains(where: { $0.name == scaleKey }) else {
      return nil
    }
    let ws = try expected.tensor(scaleKey)
    guard gs.values.count == ws.values.count else { return nil }
    return zip(gs.values, ws.values).map { !Self.identical($0, $1) }
  }

  /// The mismatches between `got` and `want` (the first 20, then a count), with the MSE
  /// rule when `tolerant` and one level of slack where `scaleDiffers`; adds the tolerated
  /// ones to `tolerated`.
  private func compareValues(
    _ name: String, got: [Float], want: [Float], tolerant: Bool, grid: Double, scaleDiffers: [Bool]?,
    tolerated: inout Int
  ) -> [String] {
    var failures: [String] = []
    var identical = 0
    var reported = 0
    for (i, (a, b)) in zip(got, want).enumerated() {
      if Self.identical(a, b) {
        identical += 1
        continue
      }
      var allowed = false
      if a.isFinite && b.isFinite {
        if tolerant {
          allowed = Double(abs(a - b)) / Double(max(abs(a), abs(b))) <= 2 / grid
        } else if let differs = scaleDiffers, i < differs.count, differs[i] {
          allowed = abs(a - b) <= 1
        }
      }
      if allowed { tolerated += 1 }
      if !allowed && reported < 20 {
        reported += 1
        failures.append("\(name)[\(i)]: \(a) != \(b)")
      } else if !allowed {
        reported += 1
      }
    }
    if reported > 20 { failures.append("\(name): \(reported - 20) more mismatches") }
    if tolerant && Double(identical) < 0.995 * Double(want.count) {
      failures.append("\(name): only \(identical) of \(want.count) bit-identical (< 99.5 %)")
    }
    return failures
  }

  /// A running histogram as the fixtures hold it: `<key>histogram` (counts as float32)
  /// and `<key>hist_edges`; nothing without a histogram.
  public static func histogramTensors(_ h: CalibrationHistogram?, key: String) -> [String: Tensor] {
    guard let h else { return [:] }
    return [
      key + "histogram": Tensor(shape: [h.counts.count], values: h.counts.map { Float($0) }),
      key + "hist_edges": Tensor(shape: [h.edges.count], values: h.edges),
    ]
  }

  /// The MSE sweep's summed losses as the fixtures hold them, `(candidates, parameters)`.
  public static func lossTensor(_ s: MSESweepState) -> Tensor {
    Tensor(shape: [s.losses.count, s.initialAmax.count], values: Array(s.losses.joined()))
  }

  /// Bit-identical, or both NaN.
  static func identical(_ a: Float, _ b: Float) -> Bool {
    a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN)
  }
}
