extension Observer {
  /// `observer(x)` of a memoryless min/max observer in one parallel pass: each work item
  /// reduces its parameters' ranges, checks them (from their lowest and highest where its
  /// kernel found those on the way), and computes their scales and zero points
  /// (`calculate_qparams`) while those ranges are in cache, instead of a pass for the
  /// ranges, one for the finiteness check, and one for the parameters.
  ///
  /// The results are those of the separate passes, bit for bit: the ranges are the same
  /// reductions, and `calculate_qparams` is element-wise. A value with a NaN or an
  /// infinity throws as before, after the pass.
  ///
  /// - Returns: `nil` where this does not apply: other observers (which keep state or
  ///   search), TENSOR_GROUP (whose ranges its global scale's pass keeps), and layouts
  ///   other than strided runs of more than one parameter.
  func fusedParameters(_ value: Tensor, layout: GroupLayout, globalScale: Float?) throws -> QuantizationParameters? {
    guard kind == .memorylessMinMax, args.strategy != .tensorGroup, RangeReduction.hooksRun(value, layout: layout)
    else { return nil }
    let kernel = try parameterKernel(globalScale: globalScale, dtype: value.dtype)
    let count = layout.count
    var finite = [Bool](repeating: true, count: RangeReduction.itemCount(parameters: count, length: layout.runLength))
    let (scales, zeros) = QuantizationArgs.filledScalesAndZeros(count: count, symmetric: kernel.symmetric) { sp, zp in
      finite.withUnsafeMutableBufferPointer { flags in
        // Non-nil: count > 1, and so at least one item.
        let ok = SharedPointer(flags.baseAddress!)
        _ = RangeReduction.minMax(value, layout: layout, parallel: runsInParallel) { item, parameters, mins, maxs, known in
          let first = parameters.lowerBound
          // With no NaN (as wherever the kernel found the item's range), every minimum and
          // maximum is finite exactly when the lowest and the highest are: a minimum of +∞
          // makes its maximum +∞, and a maximum of -∞ its minimum -∞.
          ok[item] =
            if let (low, high) = known {
              low.isFinite && high.isFinite
            } else {
              RangeReduction.allFinite(mins + first, parameters.count)
                && RangeReduction.allFinite(maxs + first, parameters.count)
            }
          kernel.parameters(mins: mins, maxs: maxs, parameters, scales: sp.base, zeros: zp?.base, outputs: count)
        }
      }
    }
    if finite.contains(false) { throw ObserverError.nonFinite(in: value) }
    return args.parameters(shape: layout.qparamShape, scales: scales, zeros: zeros, kernel)
  }

  /// Whether this observer needs no more of NVFP4's groups than their largest magnitudes
  /// (``GroupMagnitudes``): memoryless min/max, with symmetric tensor-group arguments.
  var reducesToMagnitudes: Bool {
    kind == .memorylessMinMax && args.strategy == .tensorGroup && args.symmetric
  }

  /// `observer(x)` of a memoryless min/max observer on NVFP4's groups from their largest
  /// magnitudes: those its global pass kept, or else computed here. Bit for bit the
  /// parameters of the groups' ranges (see ``GroupMagnitudes``).
  ///
  /// - Returns: `nil` where the magnitudes do not apply (see
  ///   ``GroupMagnitudes/init(_:layout:parallel:width:)``), a NaN or infinity among them.
  func magnitudeParameters(_ value: Tensor, layout: GroupLayout, globalScale: Float?) throws -> QuantizationParameters? {
    guard reducesToMagnitudes,
      let magnitudes = value.takeKeptMagnitudes(for: layout)
        ?? GroupMagnitudes(value, layout: layout, parallel: runsInParallel)
    else { return nil }
    let kernel = try parameterKernel(globalScale: globalScale, dtype: value.dtype)
    return magnitudes.parameters(args, kernel, parallel: runsInParallel)
  }

  /// The arguments' `calculate_qparams` kernel, its errors as this observer's.
  private func parameterKernel(globalScale: Float?, dtype: FloatDType) throws -> QParamKernel {
    do {
      return try args.parameterKernel(globalScale: globalScale, dtype: dtype)
    } catch let e as QuantizationArgsError {
      throw ObserverError.arguments(e)
    }
  }
}
