import CalibCore
import Synchronization

/// llm-compressor 0.10's calibration lifecycle, run for one or more variants of a recipe
/// at once (QUANT_SEMANTICS §6.3). It is the only place that orders the lifecycle; the
/// recorder and the replay engine only supply samples and store what it reports.
///
/// The order, for every variant:
///
/// 1. ``calibrateWeights(loading:workers:sink:)``:
///    - `update_weight_global_scale` for every TENSOR_GROUP weight of the whole plan,
///    - `update_fused_layer_weight_global_scales`, the minimum over fused siblings
///      (``FusedGlobalScales``),
///    - then, for the weights the filter keeps, `update_weight_zp_scale`. Its states are
///      step 0 of base name `weight`.
/// 2. ``activationLanes()``: one ``ActivationLane`` per (module, base name) the filter keeps,
///    fed that pair's samples in step order. Lanes are independent of each other, so a
///    source may feed them step by step (recording) or pair by pair in parallel (replay)
///    with the same result. ``absorb(_:)`` takes them back.
/// 3. ``finish()``: `freeze_module_quantization`, and the final parameters of every kept
///    pair.
///
/// The filter applies after fusion: a replay restricted to `*.q_proj` still fuses its
/// global scale with those of `k_proj` and `v_proj`.
public struct CalibrationLifecycle: Sendable {
  /// The plans, one per variant, in the state the lifecycle has reached.
  public internal(set) var variants: [CalibrationPlan]
  private let include: @Sendable (String, BaseName) -> Bool

  /// Starts a lifecycle over unfiltered plans.
  ///
  /// - Parameter include: which (module, base name) pairs are observed and reported;
  ///   the weight global scales are computed for every module regardless.
  public init(
    variants: [CalibrationPlan], include: @escaping @Sendable (String, BaseName) -> Bool = { _, _ in true }
  ) {
    self.variants = variants
    self.include = include
  }

  /// Whether any variant observes anything the filter keeps.
  public var isEmpty: Bool { weightModules.isEmpty && activationPairs.isEmpty }

  /// Modules whose weight global scale some variant computes (every TENSOR_GROUP weight,
  /// unfiltered, so that fusion sees every sibling).
  public var globalScaleModules: [String] {
    Set(variants.flatMap { plan in
      plan.modules.values.filter { $0.scheme.weights?.strategy == .tensorGroup && $0.observers[.weight] != nil }.map(\.name)
    }).sorted()
  }

  /// Modules whose weight scale some variant computes, after the filter.
  public var weightModules: [String] {
    Set(variants.flatMap { $0.observedPairs.filter { $0.base == .weight && include($0.module, .weight) }.map(\.module) }).sorted()
  }

  /// The activation pairs some variant observes, after the filter.
  public var activationPairs: [PairKey] {
    Set(variants.flatMap { $0.observedPairs.filter { $0.base != .weight && include($0.module, $0.base) } }).sorted()
  }

  /// The (module, base name) pairs reported over all variants, after the filter.
  public var reportedPairCount: Int {
    variants.map { plan in plan.observedPairs.filter { include($0.module, $0.base) }.count }.reduce(0, +)
  }

  // MARK: Weights

  /// Phase 1: weight global scales, the fused minimum, then weight scales and zero points.
  ///
  /// - Parameters:
  ///   - load: a module's weight, or `nil` when none is available. It is called at most
  ///     once per module in each of the two passes, possibly concurrently.
  ///   - workers: runs `body(i)` for every `i` in `0..<count`, possibly concurrently.
  ///   - sink: receives each weight's states (step 0), possibly concurrently.
  /// - Returns: the reference's warnings (weights calibrated outside calibration status).
  @discardableResult
  public mutating func calibrateWeights(
    loading load: @Sendable (String) throws -> Tensor?, workers: some WorkScheduler, sink: some CalibrationSink
  ) throws -> [String] {
    try updateGlobalScales(loading: load, workers: workers)
    for v in variants.indices { FusedGlobalScales.apply(to: &variants[v].modules) }
    return try updateWeightScales(loading: load, workers: workers, sink: sink)
  }

  private mutating func updateGlobalScales(loading load: @Sendable (String) throws -> Tensor?, workers: some WorkScheduler) throws {
    let names = globalScaleModules
    let before = variants
    let updated = Mutex([[String: CalibratedModule]](repeating: [:], count: variants.count))
    try workers.forEach(names.count) { i in
      guard let weight = try load(names[i]) else { return }
      for (v, plan) in before.enumerated() {
        guard var module = plan.modules[names[i]], module.observers[.weight] != nil else { continue }
        module.weight = weight
        _ = try module.updateWeightGlobalScale()
        module.weight = nil
        updated.withLock { $0[v][names[i]] = module }
      }
    }
    merge(updated.withLock { $0 })
  }

  private mutating func updateWeightScales(
    loading load: @Sendable (String) throws -> Tensor?, workers: some WorkScheduler, sink: some CalibrationSink
  ) throws -> [String] {
    let names = weightModules
    let before = variants
    let updated = Mutex([[String: CalibratedModule]](repeating: [:], count: variants.count))
    let warnings = Mutex([String]())
    try workers.forEach(names.count) { i in
      guard let weight = try load(names[i]) else { return }
      var states: [RecordedState] = []
      for (v, plan) in before.enumerated() where plan.observes(names[i], .weight) {
        guard var module = plan.modules[names[i]] else { continue }
        module.weight = weight
        let (snapshot, warning) = try module.updateWeightScaleAndZeroPoint()
        module.weight = nil
        if let snapshot { states.append(RecordedState(variant: v, step: 0, snapshot: snapshot)) }
        if let warning, v == 0 { warnings.withLock { $0.append(warning) } }
        updated.withLock { $0[v][names[i]] = module }
      }
      try sink.record(states)
    }
    merge(updated.withLock { $0 })
    return warnings.withLock { $0 }
  }

  private mutating func merge(_ modules: [[String: CalibratedModule]]) {
    for (v, byName) in modules.enumerated() {
      for (name, module) in byName { variants[v].modules[name] = module }
    }
  }

  // MARK: Activations

  /// Phase 2: one lane per activation pair the filter keeps, holding every variant's
  /// module for that pair.
  public func activationLanes() -> [ActivationLane] {
    activationPairs.map { pair in
      ActivationLane(pair: pair, modules: variants.map { $0.observes(pair.module, pair.base) ? $0.modules[pair.module] : nil })
    }
  }

  /// Takes back lanes that were fed: their observers' states and parameters become the
  /// variants'.
  public mutating func absorb(_ lanes: [ActivationLane]) {
    for lane in lanes {
      for (v, module) in lane.modules.enumerated() {
        guard let module, let observer = module.observers[lane.pair.base] else { continue }
        variants[v].restore(lane.pair, state: observer.state, parameters: module.parameters[lane.pair.base] ?? ModuleParameters())
      }
    }
  }

  // MARK: Completion

  /// Phase 3: the final parameters of every pair the filter keeps, per variant; then
  /// every module is frozen.
  public mutating func finish() -> [[FinalParameters]] {
    let finals = variants.map { plan in plan.finalParameters.filter { include($0.module, $0.baseName) } }
    for v in variants.indices { variants[v].freezeAll() }
    return finals
  }

  /// Restores a variant's pair from a recorded state (to resume a recording).
  public mutating func restore(variant: Int, _ pair: PairKey, state: ObserverState, parameters: ModuleParameters) {
    variants[variant].restore(pair, state: state, parameters: parameters)
  }
}
