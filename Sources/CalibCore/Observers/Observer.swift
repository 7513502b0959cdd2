/// An llm-compressor 0.10 observer with its per-call API: each observation returns the
/// updated scale and zero point at once; ``observeGlobalScale(_:)`` serves TENSOR_GROUP.
///
/// Update rule per observation, where `(mn, mx)` is this observation's range (plain
/// min/max or the MSE search result, see ``ObserverKind``):
/// ```
/// memoryless      state := (mn, mx)                  (not kept)
/// static          state := (min(old, mn), max(old, mx))     NaN propagates
/// moving average  state := first ? (mn, mx) : r(r(old · f32(1 - c)) + r(new · f32(c)))
///                 (c == 1 overwrites)
/// ```
/// then `calculate_qparams(state, args, global scale)`. The global-scale path keeps a
/// separate whole-tensor state with the same rule and returns `generate_gparam` of it.
///
/// Precision: the arithmetic follows the observed tensor's ``Tensor/dtype`` D, as torch
/// on a tensor of that dtype: every elementwise operation is computed in float32 and its
/// result rounded to D (`r` above; nothing for float32). The moving average is
/// llm-compressor 0.10's `_lerp`, `input * (1.0 - weight) + end * weight` — not
/// `torch.lerp` — so in bf16 a small constant often leaves the state where it was (the
/// product rounds back to the old value and the addend is below half an ulp). min/max
/// are exact, and the running state is kept in D. The MSE search sums its errors in
/// torch's own float32 order (see ``MSEGridSearch`` and ``TorchSum``).
/// NaN policy: a value holding NaN or ±∞ is refused with ``ObserverError/nonFinite(count:firstIndex:shape:)``
/// and leaves the state unchanged. Empty values are skipped (`nil`), as the reference
/// skips MoE experts that saw no tokens.
///
/// For example:
/// ```swift
/// var observer = try Observer(kind: .staticMinMax, baseName: .input, args: args)
/// let p = try observer.observe(batch)   // scale and zero point so far
/// ```
public struct Observer: Sendable {
  public let kind: ObserverKind
  public let baseName: BaseName
  public let args: QuantizationArgs
  public let settings: ObserverSettings
  /// The running statistics; assign to restore a saved observer.
  public var state = ObserverState()
  /// imatrix_mse only: E[x²] per input channel of the module's inputs, which weights the
  /// search (see ``InputImportance``); set it before observing the weight.
  public var inputImportance: InputImportance?
  /// Whether an observation may spread its hot loops over all cores (the default). A
  /// caller that already runs many observers in parallel sets this to `false` so its own
  /// thread count bounds the total. Results are identical either way.
  public var runsInParallel = true

  /// Builds an observer, validating its kwargs (taken from `args.observerKwargs`).
  ///
  /// - Throws: ``ObserverError`` for kwargs the observer does not take or cannot use.
  /// With `validatingKwargs: false`, kwargs the observer does not read are ignored (as
  /// the reference does); used when llm-compressor swaps a weight observer for its
  /// memoryless twin after the user's kwargs were checked against the named one.
  public init(
    kind: ObserverKind, baseName: BaseName, args: QuantizationArgs, validatingKwargs: Bool = true
  ) throws {
    self.kind = kind
    self.baseName = baseName
    self.args = args
    let kwargs =
      validatingKwargs ? args.observerKwargs : args.observerKwargs.filter { kind.acceptedKwargs.contains($0.key) }
    self.settings = try ObserverSettings(kind: kind, kwargs: kwargs)
  }

  /// Builds the observer named in `args.observer` (registry lookup by name).
  public init(baseName: BaseName, args: QuantizationArgs) throws {
    try self.init(
      kind: ObserverKind(registryName: args.observer ?? "memoryless_minmax"), baseName: baseName,
      args: args)
  }

  private var accumulates: Bool { kind != .memorylessMinMax && kind != .memorylessMSE }

  /// Observes a value and returns the updated scale and zero point (`observer(x)`).
  ///
  /// - Parameter globalScale: the module's `<base>_global_scale`; required for
  ///   TENSOR_GROUP, where it multiplies the local scales.
  /// - Returns: `nil` for an empty value (nothing observed).
  /// - Throws: ``ObserverError``.
  public mutating func observe(_ value: Tensor, globalScale: Float? = nil) throws
    -> QuantizationParameters?
  {
    if value.isEmpty { return nil }
    if kind.isONNXRuntime { return try observeONNXRuntime(value) }
    if kind == .modelOptMax { return try observeModelOptMax(value) }
    if kind.isModelOptHistogram { return try observeModelOptHistogram(value) }
    if kind == .modelOptMSESweep { return try observeModelOptMSESweep(value) }
    if kind.isExpandedSearch { return try observeExpandedSearch(value, globalScale: globalScale) }
    if args.strategy == .tensorGroup && globalScale == nil { throw ObserverError.missingGlobalScale }
    let layout: GroupLayout
    do {
      layout = try GroupLayout(shape: value.shape, baseName: baseName, args: args)
    } catch let e as LayoutError {
      throw ObserverError.layout(e)
    }
    if let parameters = try magnitudeParameters(value, layout: layout, globalScale: globalScale) { return parameters }
    if let parameters = try fusedParameters(value, layout: layout, globalScale: globalScale) { return parameters }
    var (mn, mx) = try currentRange(value, layout: layout, globalScale: globalScale, optimizingGlobalScale: false)
    var dtype = value.dtype
    if accumulates {
      if let old = state.minValues, let oldMax = state.maxValues {
        guard old.shape == layout.qparamShape else {
          throw ObserverError.shapeChanged(running: old.shape, observed: layout.qparamShape)
        }
        // A state kept in another dtype promotes the update (torch's type promotion).
        dtype = dtype.promoted(with: old.dtype)
        (mn, mx) = accumulate(old: (old.values, oldMax.values), new: (mn, mx), dtype: dtype)
      }
      state.minValues = Tensor(shape: layout.qparamShape, values: mn, dtype: dtype)
      state.maxValues = Tensor(shape: layout.qparamShape, values: mx, dtype: dtype)
    }
    do {
      return try args.quantizationParameters(
        min: Tensor(shape: layout.qparamShape, values: mn, dtype: dtype),
        max: Tensor(shape: layout.qparamShape, values: mx, dtype: dtype), globalScale: globalScale,
        parallel: runsInParallel)
    } catch let e as QuantizationArgsError {
      throw ObserverError.arguments(e)
    }
  }

  /// Observes a value for the NVFP4 global scale (`get_global_scale(x)`): the value is
  /// taken as one tensor, its range accumulated in the global state, and
  /// `generate_gparam` of that range returned.
  ///
  /// - Returns: `nil` for an empty value.
  public mutating func observeGlobalScale(_ value: Tensor) throws -> Float? {
    if value.isEmpty { return nil }
    if kind.isONNXRuntime || kind.isModelOpt {
      throw ObserverError.unsupported(
        observer: kind.rawValue, reason: "computes no global scale: use strategy tensor, channel or group")
    }
    if kind.isExpandedSearch { return try expandedSearchGlobalScale(value) }
    var whole = args
    whole.strategy = .tensor
    let layout = try GroupLayout(shape: [value.elementCount], baseName: .input, args: whole)
    if reducesToMagnitudes, let groups = try? GroupLayout(shape: value.shape, baseName: baseName, args: args),
      let magnitudes = GroupMagnitudes(value, layout: groups, parallel: runsInParallel)
    {
      // Kept for the local pass; memoryless, so there is no global state to update.
      value.keep(magnitudes)
      return GlobalScale.generate(magnitude: magnitudes.largest, dtype: value.dtype)
    }
    var (mn, mx): ([Float], [Float])
    if let range = fusedGlobalRange(value) {
      (mn, mx) = ([range.min], [range.max])
    } else {
      (mn, mx) = try currentRange(value, layout: layout, globalScale: nil, optimizingGlobalScale: true)
    }
    var dtype = value.dtype
    if accumulates, let oldMin = state.globalMin, let oldMax = state.globalMax {
      dtype = dtype.promoted(with: state.globalDType)
      (mn, mx) = accumulate(old: ([oldMin], [oldMax]), new: (mn, mx), dtype: dtype)
    }
    state.globalMin = mn[0]
    state.globalMax = mx[0]
    state.globalDType = dtype
    if !accumulates {
      state.globalMin = nil
      state.globalMax = nil
      state.globalDType = .float32
    }
    return GlobalScale.generate(min: mn[0], max: mx[0], dtype: dtype)
  }

  /// The global range of a tensor taken from its groups' ranges, which the tensor keeps
  /// for the local pass that follows (`observe(_:globalScale:)`): one pass over the value
  /// instead of two. `nil` where that does not apply (MSE searches, other strategies, a
  /// known range), where a zero end needs the whole-value reduction's own order, or where
  /// the range is not finite (the local pass then finds the culprits itself).
  ///
  /// The groups' ranges are kept only under a finite combined range, which proves each of
  /// them finite (every group's minimum and maximum lie within it), so the local pass
  /// skips its finiteness check on them.
  private func fusedGlobalRange(_ value: Tensor) -> ValueRange? {
    guard !kind.searchesMSE, args.strategy == .tensorGroup, value.knownRange == nil,
      let groups = try? GroupLayout(shape: value.shape, baseName: baseName, args: args)
    else { return nil }
    let ranges = RangeReduction.minMaxAndCombined(value, layout: groups, parallel: runsInParallel)
    guard let range = ranges.combined, range.isFinite else { return nil }
    value.keep((ranges.mins, ranges.maxs), for: groups)
    return range
  }

  /// This observation's range: min/max, or the MSE search from it.
  private func currentRange(
    _ value: Tensor, layout: GroupLayout, globalScale: Float?, optimizingGlobalScale: Bool
  ) throws -> ([Float], [Float]) {
    let (mn, mx): ([Float], [Float])
    if let kept = value.takeKeptRanges(for: layout) {
      (mn, mx) = kept  // finite: fusedGlobalRange keeps only those
    } else {
      (mn, mx) = RangeReduction.minMax(value, layout: layout, parallel: runsInParallel)
      if RangeReduction.containsNonFinite(mn, mx) { throw ObserverError.nonFinite(in: value) }
    }
    guard kind.searchesMSE else { return (mn, mx) }
    do {
      var search = MSEGridSearch(settings: settings)
      search.runsInParallel = runsInParallel
      let result = try search.search(
        value.values, layout: layout, args: args, globalScale: globalScale,
        optimizingGlobalScale: optimizingGlobalScale, rawMin: mn, rawMax: mx, dtype: value.dtype)
      return (result.min, result.max)
    } catch let e as QuantizationArgsError {
      throw ObserverError.arguments(e)
    }
  }

  /// Folds a new range into the old one by this observer's accumulation rule, in `dtype`.
  private func accumulate(
    old: ([Float], [Float]), new: ([Float], [Float]), dtype: FloatDType
  ) -> ([Float], [Float]) {
    switch kind {
    case .staticMinMax:
      return (
        zip(new.0, old.0).map { propagatingMin($0, $1) },
        zip(new.1, old.1).map { propagatingMax($0, $1) }
      )
    case .minMax, .mse:
      let c = settings.averagingConstant
      if c == 1 { return new }
      // Python computes 1 - c in double; torch takes each scalar operand as float32.
      let keep = Float(1 - c)
      let take = Float(c)
      let r = dtype.rounded as (Float) -> Float
      return (
        zip(old.0, new.0).map { r(r($0 * keep) + r($1 * take)) },
        zip(old.1, new.1).map { r(r($0 * keep) + r($1 * take)) }
      )
    default:
      return new
    }
  }
}
