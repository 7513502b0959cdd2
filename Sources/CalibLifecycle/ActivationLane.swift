import CalibCore

/// The modules of every variant that observe one (module, base name) pair, fed that
/// pair's samples in step order by a source.
///
/// Lanes are independent once the weights are calibrated: a recording feeds all of them
/// step by step, a replay feeds each one on its own worker.
public struct ActivationLane: Sendable {
  public let pair: PairKey
  /// The module per variant, `nil` where that variant does not observe the pair.
  public internal(set) var modules: [CalibratedModule?]

  /// Runs the pair's hook on one sample for every variant: `calibrate_activations` for
  /// inputs and q/k/v, the calibration half of `calibrate_output_hook` for outputs (its
  /// fake-quantized result would feed the next layer, which stored samples already
  /// reflect).
  ///
  /// - Returns: the state after the call, per variant that observed it.
  public mutating func observe(_ value: Tensor, step: Int) throws -> [RecordedState] {
    var states: [RecordedState] = []
    for v in modules.indices {
      guard var module = modules[v] else { continue }
      do {
        if let snapshot = try module.calibrateActivations(value, as: pair.base) {
          states.append(RecordedState(variant: v, step: step, snapshot: snapshot))
        }
      } catch var e as ObservationError {
        e.step = step
        throw e
      }
      modules[v] = module
    }
    return states
  }
}
