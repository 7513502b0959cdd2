/// nvidia-modelopt's `MseCalibrator` (`modelopt/torch/quantization/calib/mse.py`,
/// nvidia-modelopt 0.47.0) on CPU, with the integer fake quantization of a
/// `TensorQuantizer` (`_tensor_quant`) as its `quant_func` and its default error
/// (`F.mse_loss(x, xq, reduction="none")`).
///
/// ```
/// candidates := torch.linspace(start, stop, ceil((stop - start) / step_size) + 1)  (float32)
/// per step, per candidate c, per parameter p (rows of x for per channel):
///   a := initial_amax[p] · c              (float32; rounded to D for a per-channel or
///                                          per-group amax of dtype D, see below)
///   xq := clamp(round_half_even(x · s), lo, hi) / s,  s := hi / a  (s := 0, then 1, for a ≤ 2^-24)
///          hi := 2^(b-1) - 1,  lo := -hi (narrow_range) or -hi - 1
///   losses[c][p] += sum((x - xq)²)                                (float32, torch's order)
/// amax[p] := initial_amax[p] · candidates[c*] with c* the FIRST minimiser (torch.argmin;
///            a NaN wins)
/// ```
/// Each step's loss is summed in torch's order (``TorchSum``), and a per-tensor loss of
/// 32,768 values or more split over torch's threads as torch splits it
/// (``TorchThreads``), so the losses are the source's to the bit.
///
/// In a bf16 (or f16) model the initial amax is the weight quantizer's `_amax`, which max
/// calibration left in the model's dtype D, while `collect` upcasts `x` to float32. The
/// candidate `c` is a 0-dim float32 tensor, so `initial_amax * c` follows torch's
/// promotion: a 0-dim (per-tensor) amax gives a float32 product, but a per-channel or
/// per-group amax has dimensions and keeps D, so every candidate amax is rounded to D
/// before `_tensor_quant` upcasts it (`candidateDType`). The final amax is a float32
/// product (the candidates are indexed into a tensor with dimensions) that
/// `load_calib_amax` copies into the D buffer; the caller rounds it.
enum ModelOptMSESweep {
  /// The candidate multipliers, `torch.linspace` in float32.
  static func candidates(_ peer: PeerSettings) -> [Float] {
    ModelOptCalibration.linspace(Float(peer.startMultiplier), Float(peer.stopMultiplier), count: peer.sweepSteps)
  }

  /// Adds one step's losses of `rows` (one per parameter, each `rows.count`th of `x`) to
  /// `state`, each candidate amax rounded to `candidateDType` (float32: not rounded).
  static func accumulate(
    _ state: inout MSESweepState, _ x: UnsafeBufferPointer<Float>, candidates: [Float], numBits: Int,
    narrowRange: Bool, candidateDType: FloatDType = .float32, threads: TorchThreads = .environment
  ) {
    let parameters = state.initialAmax.count
    let rowLength = x.count / parameters
    let hi = Float((1 << (numBits - 1)) - 1)
    let lo = narrowRange ? -hi : -hi - 1
    for (c, candidate) in candidates.enumerated() {
      for p in 0..<parameters {
        let amax = candidateDType.rounded(state.initialAmax[p] * candidate)
        let zero = amax <= 1.0 / Float(1 << 24)
        let scale = zero ? 0 : hi / amax
        let row = UnsafeBufferPointer(rebasing: x[p * rowLength..<(p + 1) * rowLength])
        state.losses[c][p] += squaredErrorSum(
          row, scale: scale, divisor: zero ? 1 : scale, lo: lo, hi: hi,
          threads: parameters == 1 ? threads : TorchThreads(1))
      }
    }
  }

  /// `sum((x - clamp(round_half_even(x · scale), lo, hi) / divisor)²)` in torch's order,
  /// each error computed as the sum reads it (eight lanes at a time, each lane the scalar
  /// IEEE operations, so the same values).
  /// With one parameter, torch reduces to a single output and splits it over `threads`.
  static func squaredErrorSum(
    _ x: UnsafeBufferPointer<Float>, scale: Float, divisor: Float, lo: Float, hi: Float, threads: TorchThreads
  ) -> Float {
    let src = UnsafeRawPointer(x.baseAddress ?? UnsafePointer(bitPattern: 8)!)
    let (s8, d8, lo8, hi8) = (
      SIMD8<Float>(repeating: scale), SIMD8<Float>(repeating: divisor), SIMD8<Float>(repeating: lo), SIMD8<Float>(repeating: hi)
    )
    // Clamping to the integer bounds before rounding gives the same level (rounding is
    // monotone and keeps integers); below 2^22 the magic-number rounding is exact.
    if hi < 4_194_304 {
      let magic = SIMD8<Float>(repeating: roundingMagic)
      return TorchSum.sum(
        count: x.count, threads: threads,
        vector: { k in
          let v = src.loadUnaligned(fromByteOffset: k &* 4, as: SIMD8<Float>.self)
          let d = v - ((pointwiseMin(pointwiseMax(v * s8, lo8), hi8) + magic) - magic) / d8
          return d * d
        },
        scalar: { k in
          let d = x[k] - Swift.min(Swift.max((x[k] * scale).rounded(.toNearestOrEven), lo), hi) / divisor
          return d * d
        })
    }
    return TorchSum.sum(
      count: x.count, threads: threads,
      vector: { k in
        let v = src.loadUnaligned(fromByteOffset: k &* 4, as: SIMD8<Float>.self)
        let d = v - pointwiseMin(pointwiseMax((v * s8).rounded(.toNearestOrEven), lo8), hi8) / d8
        return d * d
      },
      scalar: { k in
        let d = x[k] - Swift.min(Swift.max((x[k] * scale).rounded(.toNearestOrEven), lo), hi) / divisor
        return d * d
      })
  }

  /// `compute_amax`: per parameter, the initial amax times the candidate of least loss.
  static func amax(_ state: MSESweepState, candidates: [Float]) -> [Float] {
    state.initialAmax.indices.map { p in
      var best = 0
      for c in 1..<candidates.count {
        let l = state.losses[c][p]
        let b = state.losses[best][p]
        if !b.isNaN && (l.isNaN || l < b) { best = c }
      }
      return state.initialAmax[p] * candidates[best]
    }
  }
}
