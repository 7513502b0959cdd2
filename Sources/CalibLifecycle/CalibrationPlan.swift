import CalibCore

/// The modules of one calibration with their schemes and initialized observers, checked
/// against the shapes of the available samples before anything runs.
///
/// A plan is built from the recipe's schemes for every module, unfiltered: a
/// `--module`/`--base-name` filter is applied later, by ``CalibrationLifecycle``, after
/// the fused global scales are computed on the whole plan.
public struct CalibrationPlan: Sendable {
  /// Every module the recipe quantizes, by name, in the state the lifecycle left it.
  public internal(set) var modules: [String: CalibratedModule] = [:]

  /// Assigns the schemes, initializes observers and checks that every quantized tensor
  /// has samples of a shape its strategy accepts.
  ///
  /// A module with no activation samples at all, while other modules have samples of the
  /// base name its scheme needs (an MoE expert that got no tokens), keeps its observers
  /// and stays uncalibrated; a module that has some samples but lacks the needed ones, or
  /// a base name no module has samples of, fails the plan. A module with attention states and no weight (an attention module that a
  /// `Linear`-style target also matches) skips weight quantization, as compressed-tensors
  /// does.
  ///
  /// - Parameters:
  ///   - schemes: the scheme of every quantized module (the recipe's resolution).
  ///   - types: module class names, when known.
  ///   - weightShapes: weight shape per module that has a weight.
  ///   - sampleShapes: shape of the first sample per module and activation base name.
  /// - Throws: ``PlanError`` naming the module and base name at fault.
  public init(
    schemes: [String: QuantizationScheme], types: [String: String], weightShapes: [String: [Int]],
    sampleShapes: [String: [BaseName: [Int]]]
  ) throws {
    let recorded = Set(sampleShapes.values.flatMap(\.keys))
    for name in schemes.keys.sorted() {
      guard let scheme = schemes[name] else { continue }
      var module = CalibratedModule(name: name, type: types[name], scheme: scheme)
      let sampled = sampleShapes[name] ?? [:]
      let attention = sampled.keys.contains { $0.isAttentionState } || (types[name]?.hasSuffix("Attention") ?? false)
      for (base, args) in try Self.observedTensors(
        of: name, scheme: scheme, hasWeight: weightShapes[name] != nil, attention: attention, sampled: sampled, recorded: recorded)
      {
        if let shape = base == .weight ? weightShapes[name] : sampled[base] {
          try Self.check(args, shape: shape, module: name, base: base)
        }
        do {
          try module.initializeObserver(base)
        } catch let e as ObserverError {
          throw PlanError.layout(module: name, baseName: base.rawValue, reason: e.description)
        }
      }
      module.startCalibration()
      modules[name] = module
    }
  }

  /// The tensors a scheme observes on one module, with their arguments. An attention
  /// module observes the q/k/v states it was recorded with under `input_activations`, and
  /// k and v under a KV-cache scheme.
  private static func observedTensors(
    of name: String, scheme: QuantizationScheme, hasWeight: Bool, attention: Bool, sampled: [BaseName: [Int]],
    recorded: Set<BaseName>
  ) throws -> [(BaseName, QuantizationArgs)] {
    var observed: [(BaseName, QuantizationArgs)] = []
    if let w = scheme.weights {
      if hasWeight {
        observed.append((.weight, w))
      } else if !attention {
        throw PlanError.missingWeight(module: name)
      }
    }
    // A module with no activation samples at all, while others have them, saw no tokens
    // (an MoE expert): its observers stay uncalibrated. A module with some samples but not
    // the ones a section needs was recorded without them: that is an error.
    let sawNoTokens = sampled.isEmpty
    func activation(_ base: BaseName, _ args: QuantizationArgs, section: String) throws {
      guard args.dynamic != .on else { return }
      guard sampled[base] != nil || (sawNoTokens && recorded.contains(base)) else {
        throw PlanError.missingSamples(module: name, baseName: base.rawValue, section: section)
      }
      observed.append((base, args))
    }
    if let input = scheme.inputActivations {
      if attention {
        for base in [BaseName.q, .k, .v] where sampled[base] != nil && (base == .q || scheme.kvCache == nil) {
          try activation(base, input, section: "input_activations")
        }
      } else {
        try activation(.input, input, section: "input_activations")
      }
    }
    if let kv = scheme.kvCache, attention {
      for base in [BaseName.k, .v] { try activation(base, kv, section: "kv_cache_scheme") }
    }
    if let output = scheme.outputActivations { try activation(.output, output, section: "output_activations") }
    return observed
  }

  private static func check(_ args: QuantizationArgs, shape: [Int], module: String, base: BaseName) throws {
    if !args.symmetric && args.isFP4 {
      throw PlanError.layout(module: module, baseName: base.rawValue, reason: QuantizationArgsError.asymmetricFP4.description)
    }
    if args.dynamic.isDynamic && args.dynamic != .local { return }
    do {
      _ = try GroupLayout(shape: shape, baseName: base, args: args)
    } catch let e as LayoutError {
      throw PlanError.layout(module: module, baseName: base.rawValue, reason: e.description)
    }
  }

  /// Whether an observer watches this (module, base name).
  public func observes(_ module: String, _ base: BaseName) -> Bool {
    modules[module]?.observers[base] != nil
  }

  /// The (module, base name) pairs with an observer, in order.
  public var observedPairs: [PairKey] {
    modules.keys.sorted().flatMap { name in
      (modules[name]?.observers.keys.sorted() ?? []).map { PairKey(module: name, base: $0) }
    }
  }

  /// The final parameters of every observed tensor, in pair order.
  public var finalParameters: [FinalParameters] {
    observedPairs.compactMap { pair in
      guard let m = modules[pair.module], let observer = m.observers[pair.base] else { return nil }
      let parameters = m.parameters[pair.base] ?? ModuleParameters()
      return FinalParameters(
        module: pair.module, baseName: pair.base, observer: observer.kind, args: observer.args,
        parameters: parameters, calibrated: pair.base == .weight || !parameters.isEmpty)
    }
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

  /// Restores an observer's running state and the module's parameters, from a recorded
  /// state (to resume a recording).
  public mutating func restore(_ pair: PairKey, state: ObserverState, parameters: ModuleParameters) {
    modules[pair.module]?.restore(pair.base, state: state, parameters: parameters)
  }

  /// Keeps every observation on the thread that makes it (for sources that already run
  /// modules in parallel); results are the same either way.
  public mutating func runObserversSerially() {
    for name in modules.keys { modules[name]?.setObserversRunInParallel(false) }
  }

  /// `freeze_module_quantization` on every module.
  public mutating func freezeAll() {
    for name in modules.keys { modules[name]?.freeze() }
  }
}
