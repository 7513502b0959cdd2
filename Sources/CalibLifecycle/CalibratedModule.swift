import CalibCore

/// A module under calibration, with llm-compressor 0.10's calibration functions as
/// methods (`initialize_observer`, `call_observer`, `update_weight_global_scale`,
/// `update_weight_zp_scale`, `calibrate_activations`, the input/output/q/k/v hooks and
/// `freeze_module_quantization`).
///
/// Every method that runs an observer returns the ``ObserverSnapshot`` to record, or `nil`
/// when nothing was observed (no observer, empty value).
public struct CalibratedModule: Sendable {
  public let name: String
  public let type: String?
  public let scheme: QuantizationScheme
  public private(set) var status = QuantizationStatus.initialized
  public private(set) var observers: [BaseName: Observer] = [:]
  public internal(set) var parameters: [BaseName: ModuleParameters] = [:]
  /// The module's weight, observed by the weight calls.
  public var weight: Tensor?

  public init(name: String, type: String?, scheme: QuantizationScheme, weight: Tensor? = nil) {
    self.name = name
    self.type = type
    self.scheme = scheme
    self.weight = weight
  }

  /// `initialize_observer`: builds the observer named by the base name's arguments —
  /// none when there are no arguments or they are fully dynamic. For weights,
  /// `minmax`/`static_minmax` become `memoryless_minmax` and `mse` becomes
  /// `memoryless_mse`, as llm-compressor 0.10 does.
  ///
  /// - Throws: ``ObserverError`` for an unknown observer or kwargs it does not take.
  public mutating func initializeObserver(_ base: BaseName) throws {
    guard let args = scheme.arguments(for: base), args.dynamic != .on else { return }
    var kind = try ObserverKind(registryName: args.observer ?? "memoryless_minmax")
    // Kwargs are validated against the observer the user named, before the override.
    _ = try ObserverSettings(kind: kind, kwargs: args.observerKwargs)
    if base == .weight { kind = kind.forWeights }
    observers[base] = try Observer(kind: kind, baseName: base, args: args, validatingKwargs: false)
  }

  /// `apply_calibration_status`.
  public mutating func startCalibration() {
    status = .calibration
  }

  /// `freeze_module_quantization`: removes the observers and marks the module frozen.
  /// Idempotent.
  public mutating func freeze() {
    if status == .frozen { return }
    observers.removeAll()
    status = .frozen
  }

  /// Whether the observers spread one observation over threads (the default); a replay
  /// that runs many modules at once keeps each observation on its worker.
  mutating func setObserversRunInParallel(_ parallel: Bool) {
    for base in observers.keys { observers[base]?.runsInParallel = parallel }
  }

  /// Removes the observers of the base names `drop` selects (to replay a subset).
  mutating func dropObservers(where drop: (BaseName) -> Bool) {
    for base in observers.keys where drop(base) {
      observers[base] = nil
      parameters[base] = nil
    }
  }

  /// Hands the weight observer the importance of this module's inputs (imatrix_mse).
  mutating func setInputImportance(_ importance: InputImportance) {
    observers[.weight]?.inputImportance = importance
  }

  /// Restores an observer's running state and the module's parameters (to resume).
  public mutating func restore(_ base: BaseName, state: ObserverState, parameters: ModuleParameters) {
    observers[base]?.state = state
    self.parameters[base] = parameters
  }

  /// `call_observer`: observes `value` (the weight when `nil` and base is weight),
  /// optionally updating the global scale first, then the scale and zero point.
  public mutating func callObserver(
    _ base: BaseName, value: Tensor? = nil, computeGlobalScale: Bool = false,
    computeQParams: Bool = true
  ) throws -> ObserverSnapshot? {
    guard var observer = observers[base] else { return nil }
    guard let x = value ?? (base == .weight ? weight : nil), !x.isEmpty else { return nil }
    var params = parameters[base] ?? ModuleParameters()
    do {
      if computeGlobalScale, let g = try observer.observeGlobalScale(x) {
        params.globalScale = g
      }
      if computeQParams, let p = try observer.observe(x, globalScale: params.globalScale) {
        params.scale = p.scale
        params.zeroPoint = p.zeroPoint
        params.zeroPointDType = p.zeroPointDType
      }
    } catch let e as ObserverError {
      throw ObservationError(module: name, baseName: base.rawValue, step: nil, reason: e.description)
    }
    observers[base] = observer
    parameters[base] = params
    return ObserverSnapshot(
      module: name, baseName: base, observer: observer.kind, kwargs: observer.args.observerKwargs,
      state: observer.state, parameters: params)
  }

  /// `update_weight_global_scale`: the weight's global scale, for TENSOR_GROUP weights only.
  public mutating func updateWeightGlobalScale() throws -> ObserverSnapshot? {
    guard scheme.weights?.strategy == .tensorGroup else { return nil }
    return try callObserver(.weight, computeGlobalScale: true, computeQParams: false)
  }

  /// `update_weight_zp_scale`: the weight's scale and zero point. The reference warns (and
  /// still calibrates) when the module is not in calibration status; the warning is
  /// returned.
  public mutating func updateWeightScaleAndZeroPoint() throws -> (ObserverSnapshot?, warning: String?) {
    guard scheme.weights != nil else { return (nil, nil) }
    let warning =
      status == .calibration
      ? nil : "\(name): calibrating weights of a module not in calibration status"
    return (try callObserver(.weight), warning)
  }

  /// `calibrate_activations`: observes an input, output or attention state. Qparams are
  /// skipped for dynamic (`true` or `"local"`) arguments; TENSOR_GROUP also updates the
  /// global scale, first. Empty values are skipped.
  public mutating func calibrateActivations(_ value: Tensor, as base: BaseName) throws
    -> ObserverSnapshot?
  {
    if value.isEmpty { return nil }
    guard let args = scheme.arguments(for: base) else { return nil }
    return try callObserver(
      base, value: value, computeGlobalScale: args.strategy == .tensorGroup,
      computeQParams: !args.dynamic.isDynamic)
  }

  /// `calibrate_output_hook`: calibrates the output, then returns it fake-quantized with
  /// the updated parameters (`forward_quantize`).
  public mutating func calibrateOutput(_ value: Tensor) throws -> (ObserverSnapshot?, Tensor) {
    let snapshot = try calibrateActivations(value, as: .output)
    guard let args = scheme.outputActivations else { return (snapshot, value) }
    let params = parameters[.output]
    let qparams = params.flatMap { p -> QuantizationParameters? in
      guard let s = p.scale, let zp = p.zeroPoint else { return nil }
      return QuantizationParameters(scale: s, zeroPoint: zp, zeroPointDType: p.zeroPointDType ?? args.zpDType)
    }
    if !args.dynamic.isDynamic && qparams == nil { return (snapshot, value) }
    let out = try args.fakeQuantized(value, as: .output, parameters: qparams, globalScale: params?.globalScale)
    return (snapshot, out)
  }
}
