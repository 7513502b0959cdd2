import CalibCore

extension CalibrationLifecycle {
  /// Modules whose weight observer some variant runs as `imatrix_mse` (before the
  /// filter, as the global scales are computed for every module): those need
  /// ``supplyInputImportance(loading:)`` before ``calibrateWeights(loading:workers:sink:)``.
  public var inputImportanceModules: [String] {
    Set(variants.flatMap { plan in
      plan.modules.values.filter { $0.observers[.weight]?.kind == .imatrixMSE }.map(\.name)
    }).sorted()
  }

  /// Gives every `imatrix_mse` weight observer the importance E[x²] of its module's
  /// inputs, accumulated in the order `load` returns them (llm-compressor main observes
  /// weights after the calibration forward passes, whose inputs its hook has seen).
  ///
  /// - Parameter load: the module's stored input samples in step order; it throws when
  ///   there are none (the caller names the recording and the fix).
  /// - Throws: what `load` throws, or ``ObserverError`` for an input that does not end in
  ///   the weight's input channels.
  public mutating func supplyInputImportance(loading load: (String) throws -> [Tensor]) throws {
    for name in inputImportanceModules {
      let inputs = try load(name)
      var importance = InputImportance(channels: inputs.first?.shape.last ?? 0)
      for x in inputs { try importance.accumulate(x) }
      for v in variants.indices where variants[v].modules[name]?.observers[.weight]?.kind == .imatrixMSE {
        variants[v].modules[name]?.setInputImportance(importance)
      }
    }
  }
}
