extension Observer {
  /// One observation by newer llm-compressor's `nvfp4_expanded_mse` or `imatrix_mse`
  /// (0.14.0.1, main `ab1ba3e`): ``ExpandedMSESearch`` finds the range, kept in
  /// ``state`` as the source keeps `min_vals` / `max_vals`; then `get_qparams` computes
  /// `calculate_qparams(range, args, g)`. For TENSOR_GROUP, `g` is `globalScale` when
  /// given (a fused group's), otherwise ``expandedSearchGlobalScale(_:)`` of the same
  /// range.
  ///
  /// imatrix_mse weights its errors by ``inputImportance``; without usable importance
  /// (none given, a non-weight value, strategy tensor or block, or importance the source
  /// rejects) it runs its unweighted search, as the source does after a warning — or,
  /// with `strict`, refuses with the source's reason.
  /// Precision: see ``ExpandedMSESearch``; `calculate_qparams` in the value's dtype.
  /// NaN policy: values holding NaN or ±∞ are refused. Memoryless: every observation
  /// searches its own value.
  mutating func observeExpandedSearch(_ value: Tensor, globalScale: Float?) throws -> QuantizationParameters {
    let (layout, range) = try expandedSearchRange(value)
    let shape = layout.qparamShape
    var g = globalScale
    if args.strategy == .tensorGroup && g == nil { g = Self.globalScale(of: range, dtype: value.dtype) }
    let parameters: QuantizationParameters
    do {
      parameters = try args.quantizationParameters(
        min: Tensor(shape: shape, values: range.min, dtype: value.dtype),
        max: Tensor(shape: shape, values: range.max, dtype: value.dtype), globalScale: g, parallel: runsInParallel)
    } catch let e as QuantizationArgsError {
      throw ObserverError.arguments(e)
    }
    state.minValues = Tensor(shape: shape, values: range.min, dtype: value.dtype)
    state.maxValues = Tensor(shape: shape, values: range.max, dtype: value.dtype)
    return parameters
  }

  /// The global scale newer llm-compressor's `get_global_scale` gives for a value: the
  /// search runs as in ``observeExpandedSearch(_:globalScale:)``, then
  /// `generate_gparam(-a, a)` of `a = max(max(max_vals), -min(min_vals))`.
  mutating func expandedSearchGlobalScale(_ value: Tensor) throws -> Float {
    let (_, range) = try expandedSearchRange(value)
    return Self.globalScale(of: range, dtype: value.dtype)
  }

  /// compressed-tensors 0.19's `generate_gparam(-a, a)`: as 0.14's, but |a| clamped to
  /// the dtype's smallest normal and a non-finite result replaced by 1.
  static func globalScale(of range: (min: [Float], max: [Float]), dtype: FloatDType) -> Float {
    var a = range.max.max() ?? 0
    a = Swift.max(a, -(range.min.min() ?? 0))
    // torch.finfo(D).tiny: 2^-126 for float32 and bf16, 2^-14 for f16.
    let tiny: Float = dtype == .float16 ? 0x1p-14 : .leastNormalMagnitude
    let clamped = Swift.max(a, tiny)
    let g = GlobalScale.generate(min: -clamped, max: clamped, dtype: dtype)
    return g.isFinite ? g : 1
  }

  /// The layout and searched range of one value.
  private func expandedSearchRange(_ value: Tensor) throws -> (GroupLayout, (min: [Float], max: [Float])) {
    let layout: GroupLayout
    do {
      layout = try GroupLayout(shape: value.shape, baseName: baseName, args: args)
    } catch let e as LayoutError {
      throw ObserverError.layout(e)
    }
    let (mn, mx) = RangeReduction.minMax(value, layout: layout, parallel: runsInParallel)
    if RangeReduction.containsNonFinite(mn, mx) { throw ObserverError.nonFinite(in: value) }
    let weights = try importanceWeights(for: value)
    var search = ExpandedMSESearch(kind: kind, settings: settings)
    search.runsInParallel = runsInParallel
    do {
      let range = try search.search(
        value.values, layout: layout, args: args, dtype: value.dtype, weights: weights,
        columns: value.shape.last ?? 1)
      return (layout, range)
    } catch let e as QuantizationArgsError {
      throw ObserverError.arguments(e)
    }
  }

  /// imatrix_mse's weights for `value` (`_get_validated_importance`), `nil` for the
  /// unweighted search; with `strict`, each fallback is an error instead.
  private func importanceWeights(for value: Tensor) throws -> [Float]? {
    guard kind == .imatrixMSE else { return nil }
    func fallback(_ reason: String) throws -> [Float]? {
      if settings.strict {
        throw ObserverError.unsupported(
          observer: kind.rawValue, reason: "\(reason) (strict): set strict false to fall back to the unweighted search")
      }
      return nil
    }
    if baseName != .weight { return try fallback("only weights are weighted by importance") }
    if args.strategy == .tensor { return try fallback("strategy tensor is not weighted by importance") }
    guard let importance = inputImportance else { return try fallback("no importance data available") }
    let weights: [Float]
    do {
      weights = try importance.normalizedWeights()
    } catch {
      return try fallback(error.description)
    }
    guard args.strategy == .channel || args.strategy == .group || args.strategy == .tensorGroup else {
      return try fallback("strategy \(args.strategy.rawValue) is not weighted by importance")
    }
    let columns = value.shape.last ?? 0
    guard weights.count == columns else {
      return try fallback("importance of \(weights.count) channels for a weight of \(columns) input channels")
    }
    return weights
  }
}
