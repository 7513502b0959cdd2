import CalibCore
import Foundation
internal import GRDB

/// The modules of one calibration with their schemes and observers, checked against the
/// available samples before anything is written; shared by record and replay.
struct CalibrationPlan: Sendable {
  var modules: [String: CalibratedModule] = [:]

  /// Assigns schemes from the recipe, initializes observers and checks that every
  /// quantized tensor has samples of a shape its strategy accepts.
  ///
  /// - Parameters:
  ///   - weightShapes: weight shape per module that has a weight.
  ///   - sampleShapes: shape of the first sample per module and activation base name.
  init(
    recipe: Recipe, modules known: [(name: String, type: String?)], weightShapes: [String: [Int]],
    sampleShapes: [String: [BaseName: [Int]]]
  ) throws {
    let schemes = try recipe.schemes(for: known)
    let types = Dictionary(known.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a })
    for name in schemes.keys.sorted() {
      guard let scheme = schemes[name] else { continue }
      var module = CalibratedModule(name: name, type: types[name] ?? nil, scheme: scheme)
      let sampled = sampleShapes[name] ?? [:]
      let attention = sampled.keys.contains { $0.isAttentionState }
      var bases: [BaseName] = []
      if let w = scheme.weights {
        guard let shape = weightShapes[name] else { throw InputError.missingWeight(module: name) }
        try Self.check(w, shape: shape, module: name, base: .weight)
        bases.append(.weight)
      }
      if let input = scheme.inputActivations, input.dynamic != .on {
        // An attention module observes the states it was recorded with (at least one).
        let wanted: [BaseName] = attention ? [.q, .k, .v].filter { sampled[$0] != nil } : [.input]
        for base in wanted {
          guard let shape = sampled[base] else {
            throw InputError.missingSamples(module: name, baseName: base.rawValue, section: "input_activations")
          }
          try Self.check(input, shape: shape, module: name, base: base)
          bases.append(base)
        }
      }
      if let output = scheme.outputActivations, output.dynamic != .on {
        guard let shape = sampled[.output] else {
          throw InputError.missingSamples(module: name, baseName: "output", section: "output_activations")
        }
        try Self.check(output, shape: shape, module: name, base: .output)
        bases.append(.output)
      }
      for base in bases {
        do {
          try module.initializeObserver(base)
        } catch let e as ObserverError {
          throw InputError.layout(module: name, baseName: base.rawValue, reason: e.description)
        }
      }
      module.startCalibration()
      modules[name] = module
    }
  }

  /// Builds the plan for a recording's input files.
  init(recipe: Recipe, inputs: RecordingInputs) throws {
    var sampleShapes: [String: [BaseName: [Int]]] = [:]
    for step in inputs.steps {
      for s in step.samples where sampleShapes[s.module]?[s.baseName] == nil {
        sampleShapes[s.module, default: [:]][s.baseName] = s.entry.shape
      }
    }
    try self.init(
      recipe: recipe, modules: inputs.modules, weightShapes: inputs.weights.mapValues(\.entry.shape),
      sampleShapes: sampleShapes)
  }

  private static func check(_ args: QuantizationArgs, shape: [Int], module: String, base: BaseName) throws {
    if !args.symmetric && args.isFP4 {
      throw InputError.layout(module: module, baseName: base.rawValue, reason: QuantizationArgsError.asymmetricFP4.description)
    }
    if args.dynamic.isDynamic && args.dynamic != .local { return }
    do {
      _ = try GroupLayout(shape: shape, baseName: base, args: args)
    } catch let e as LayoutError {
      throw InputError.layout(module: module, baseName: base.rawValue, reason: e.description)
    }
  }

  /// Modules whose scheme quantizes weights, by name.
  var modulesWithWeightArgs: [String] {
    modules.keys.sorted().filter { modules[$0]?.scheme.weights != nil }
  }

  /// Whether an observer watches this (module, base name).
  func observes(_ module: String, _ base: BaseName) -> Bool {
    modules[module]?.observers[base] != nil
  }

  /// Runs the hook for an activation or attention state. For outputs only the
  /// calibration half of the output hook runs: its fake-quantized result would feed the
  /// next layer, which a recording of dumped samples does not model.
  mutating func calibrate(_ module: String, _ base: BaseName, _ value: Tensor) throws -> ObserverSnapshot? {
    try modules[module]?.calibrateActivations(value, as: base)
  }

  mutating func updateWeightGlobalScale(_ module: String, weight: Tensor) throws {
    modules[module]?.weight = weight
    _ = try modules[module]?.updateWeightGlobalScale()
    modules[module]?.weight = nil
  }

  mutating func fuseGlobalScales() {
    FusedGlobalScales.apply(to: &modules)
  }

  mutating func updateWeightScale(_ module: String, weight: Tensor) throws -> (ObserverSnapshot?, String?) {
    modules[module]?.weight = weight
    defer { modules[module]?.weight = nil }
    return try modules[module]?.updateWeightScaleAndZeroPoint() ?? (nil, nil)
  }

  /// `(module, base, observer, args, parameters)` for every observed tensor.
  func finalParameters() -> [(String, BaseName, String?, QuantizationArgs, ModuleParameters)] {
    var out: [(String, BaseName, String?, QuantizationArgs, ModuleParameters)] = []
    for name in modules.keys.sorted() {
      guard let m = modules[name] else { continue }
      for base in m.observers.keys.sorted() {
        guard let observer = m.observers[base] else { continue }
        out.append((name, base, observer.kind.rawValue, observer.args, m.parameters[base] ?? ModuleParameters()))
      }
    }
    return out
  }

  /// Removes the observers of every (module, base name) `include` rejects, and modules
  /// left with none.
  mutating func restrict(to include: (String, BaseName) -> Bool) {
    for name in modules.keys {
      guard var m = modules[name] else { continue }
      m.dropObservers { !include(name, $0) }
      modules[name] = m.observers.isEmpty ? nil : m
    }
  }

  /// The (module, base name) pairs with an observer.
  var observedPairs: [(String, BaseName)] {
    modules.keys.sorted().flatMap { name in (modules[name]?.observers.keys.sorted() ?? []).map { (name, $0) } }
  }

  mutating func freezeAll() {
    for name in modules.keys { modules[name]?.freeze() }
  }

  /// Restores observer states and module parameters from the latest recorded state of
  /// each (module, base name) before `beforeStep` (weights: their step-0 state).
  mutating func restore(from store: CalibrationStore, runID: Int64, moduleIDs: [String: Int64], beforeStep: Int) throws {
    let names = Dictionary(moduleIDs.map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
    try store.pool.read { db in
      let rows = try Row.fetchAll(
        db,
        sql: """
          SELECT o.* FROM observerState o
          WHERE o.runID = ? AND (o.baseName = 'weight' OR o.step < ?)
          ORDER BY o.step
          """, arguments: [runID, beforeStep])
      for row in rows {
        guard let name = names[row["moduleID"]], let base = BaseName(rawValue: row["baseName"]) else { continue }
        let (state, params) = CalibrationStore.decodeState(row)
        modules[name]?.restore(base, state: state, parameters: params)
      }
    }
  }
}
