extension ModelOptCalibration {
  /// `_compute_amax_mse` (`modelopt/torch/quantization/calib/histogram.py`,
  /// nvidia-modelopt 0.47.0) on CPU: the bin centre that, used as amax, fake-quantizes the
  /// histogram's centres with the least count-weighted squared error.
  ///
  /// ```
  /// c := counts as int32, then float32;   m_k := (edges[k+1] + edges[k]) / 2   (float32)
  /// for i in start_bin, start_bin + stride, …, < len(m):
  ///   q := fake_tensor_quant(m, m_i, num_bits, unsigned)          (see fakeQuantize)
  ///   E(i) := mean((q - m)² · c)          (float32; torch's summation order)
  /// amax := m_i* with i* the FIRST minimiser of E (np.argmin; a NaN wins)
  /// ```
  /// The source passes `num_bits` and `unsigned` positionally to
  /// `FakeTensorQuantFunction.apply(inputs, amax, bias, num_bits, …)`, so `num_bits`
  /// becomes a bias and `unsigned` (False) the bit count: every centre "quantizes" to the
  /// same value, `-0.5 / (-0.5 / m_i) + num_bits` (torch's clamp with crossed bounds
  /// 0.5 > -0.5 returns the upper one for every input), E grows with m_i, and the search
  /// returns `m[start_bin]` whenever the centres lie below `num_bits`. That is what
  /// nvidia-modelopt 0.47 computes, and it is reproduced, not corrected.
  /// All float32, as the source computes on CPU, with the mean in torch's order
  /// (``TorchSum``), so E and amax are the source's to the bit.
  ///
  /// - Throws: ``ObserverError/unsupported(observer:reason:)`` where the source fails: a
  ///   grown histogram whose counts and centres differ in number (torch cannot broadcast
  ///   them), or `start_bin` at or past the last centre (argmin of nothing).
  static func mseAmax(
    _ h: CalibrationHistogram, numBits: Int, stride: Int, startBin: Int, observer: String
  ) throws -> Float {
    let centres = (0..<Swift.max(0, h.edges.count - 1)).map { (h.edges[$0 + 1] + h.edges[$0]) / 2 }
    let counts = h.counts.map { Float(Int32(truncatingIfNeeded: $0)) }
    guard counts.count == centres.count else {
      throw ObserverError.unsupported(
        observer: observer,
        reason: "the grown histogram has \(counts.count) counts but \(centres.count) bin centres, which modelopt cannot broadcast (use more num_bins so the first step's range covers later ones)")
    }
    guard startBin < centres.count else {
      throw ObserverError.unsupported(
        observer: observer, reason: "start_bin \(startBin) is not below the histogram's \(centres.count) bins (lower start_bin or raise num_bins)")
    }
    // _tensor_quant(centres - bias, amax, num_bits: 0, unsigned: false, narrow_range: true)
    let bias = Float(numBits)
    let bound: Float = 0.5 - 1  // 2^(0 - 1) - 1
    var best: (i: Int, e: Float)? = nil
    for i in Swift.stride(from: startBin, to: centres.count, by: stride) {
      let amax = centres[i]
      let zero = amax <= 1.0 / Float(1 << 24)
      let scale = zero ? 0 : bound / amax
      // The bounds are crossed (lo = 0.5 > hi = -0.5), so torch's clamp gives hi for
      // every centre: one quantized value per window, (hi / scale) + bias.
      let q = fakeQuantize(0, scale: scale, dequantizeBy: zero ? 1 : scale, bound: bound) + bias
      let e = weightedError(centres, counts, quantized: q) / Float(centres.count)
      if let current = best {
        if !current.e.isNaN && (e.isNaN || e < current.e) { best = (i, e) }
      } else {
        best = (i, e)
      }
    }
    return centres[best!.i]
  }

  /// `sum((q - m)² · c)` over the centres `m` and counts `c` for one quantized value `q`,
  /// in torch's order, each term computed as the sum reads it (eight lanes at a time,
  /// each lane the scalar IEEE operations).
  static func weightedError(_ m: [Float], _ c: [Float], quantized q: Float) -> Float {
    m.withUnsafeBufferPointer { m in
      c.withUnsafeBufferPointer { c in
        let (mp, cp) = (UnsafeRawPointer(m.baseAddress!), UnsafeRawPointer(c.baseAddress!))
        let q8 = SIMD8<Float>(repeating: q)
        return TorchSum.sum(
          count: m.count,
          vector: { k in
            let d = q8 - mp.loadUnaligned(fromByteOffset: k &* 4, as: SIMD8<Float>.self)
            return (d * d) * cp.loadUnaligned(fromByteOffset: k &* 4, as: SIMD8<Float>.self)
          },
          scalar: { k in
            let d = q - m[k]
            return (d * d) * c[k]
          })
      }
    }
  }

  /// modelopt's `_tensor_quant` (narrow range, signed) on one float32 value:
  /// `clamp(round_half_even(x · scale), -bound, bound) / dequantizeBy` — torch's clamp,
  /// `min(max(v, lo), hi)`, which is `hi` when `lo > hi` (the source's negative bound).
  /// `scale` is `bound / amax`, or 0 for amax ≤ 2^-24, where the source then divides by 1.
  @inline(__always)
  static func fakeQuantize(_ x: Float, scale: Float, dequantizeBy divisor: Float, bound: Float) -> Float {
    let r = (x * scale).rounded(.toNearestOrEven)
    return Swift.min(Swift.max(r, -bound), bound) / divisor
  }
}
