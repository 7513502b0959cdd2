/// The scale and zero point of a quantized tensor, optionally with its NVFP4 global scale.
///
/// Values are float32 for both; the zero point's values lie on the grid of
/// ``zeroPointDType`` (int8 by default), as the reference returns it in that dtype.
public struct QuantizationParameters: Sendable, Equatable {
  public var scale: Tensor
  public var zeroPoint: Tensor
  public var zeroPointDType: TorchDType

  public init(scale: Tensor, zeroPoint: Tensor, zeroPointDType: TorchDType) {
    self.scale = scale
    self.zeroPoint = zeroPoint
    self.zeroPointDType = zeroPointDType
  }
}

extension QuantizationArgs {
  /// Computes scales and zero points from ranges: compressed-tensors 0.14
  /// `calculate_qparams`, element by element in float32.
  ///
  /// ```
  /// mn := min(mn, 0); mx := max(mx, 0)           (0 must be representable; NaN propagates)
  /// symmetric:  s := max(|mn|, |mx|) / (range / 2)      (MX: power-of-two exponent)
  ///             zp := 0
  /// asymmetric: s := (mx - mn) / range;  zp := clamp(q_min - mn / s, q_min, q_max)
  /// s := g · s                  when a global scale g is given
  /// s := round(s, scale_dtype)  when set (FP8: clamp ±448, nearest even)
  /// MX: s := 2^(s - 127)
  /// s := eps(scale_dtype or float32) where s == 0 exactly
  /// zp := round(zp, zp_dtype)
  /// ```
  /// A 0-d input gives shape `[1]`, like the reference.
  ///
  /// - Throws: ``QuantizationArgsError/asymmetricFP4`` for asymmetric FP4.
  public func quantizationParameters(min: Tensor, max: Tensor, globalScale: Float? = nil) throws
    -> QuantizationParameters
  {
    precondition(min.shape == max.shape, "min shape \(min.shape) != max shape \(max.shape)")
    if !symmetric && isFP4 { throw QuantizationArgsError.asymmetricFP4 }
    let kernel = QParamKernel(self, globalScale: globalScale)
    let n = min.elementCount
    // Every slot is written by exactly one chunk; no zero fill first (it would be a serial
    // pass over both outputs).
    var zeros: [Float] = []
    let scales = [Float](unsafeUninitializedCapacity: n) { s, scaleCount in
      zeros = [Float](unsafeUninitializedCapacity: n) { z, zeroCount in
        // Element-wise, so chunks can run in parallel with identical results.
        let chunk = 1 << 16
        if n > 0 {
          min.values.withUnsafeBufferPointer { mins in
            max.values.withUnsafeBufferPointer { maxs in
              let (lo, hi) = (SharedPointer(mins.baseAddress!), SharedPointer(maxs.baseAddress!))
              let (sp, zp) = (SharedPointer(s.baseAddress!), SharedPointer(z.baseAddress!))
              ParallelWork.forEach((n + chunk - 1) / chunk) { c in
                var i = c * chunk
                let end = Swift.min(n, (c + 1) * chunk)
                if kernel.hasVectorPath {
                  let (mins, maxs) = (UnsafeRawPointer(lo.base), UnsafeRawPointer(hi.base))
                  let (out, zeroOut) = (UnsafeMutableRawPointer(sp.base), UnsafeMutableRawPointer(zp.base))
                  while i + 8 <= end {
                    let scale = kernel.scales(
                      min: mins.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self),
                      max: maxs.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
                    out.storeBytes(of: scale, toByteOffset: i * 4, as: SIMD8<Float>.self)
                    zeroOut.storeBytes(of: SIMD8<Float>(), toByteOffset: i * 4, as: SIMD8<Float>.self)
                    i += 8
                  }
                }
                while i < end {
                  (sp[i], zp[i]) = kernel.scaleAndZeroPoint(min: lo[i], max: hi[i])
                  i += 1
                }
              }
            }
          }
        }
        zeroCount = n
      }
      scaleCount = n
    }
    let shape = min.shape.isEmpty ? [1] : min.shape
    return QuantizationParameters(
      scale: Tensor(shape: shape, values: scales), zeroPoint: Tensor(shape: shape, values: zeros),
      zeroPointDType: zpDType)
  }
}

/// The per-element body of `calculate_qparams`, with everything that depends only on
/// the arguments computed once.
@usableFromInline
struct QParamKernel: Sendable {
  let symmetric: Bool
  let usesMX: Bool
  let range: QuantizedRange
  let halfWidth: Float
  let width: Float
  let globalScale: Float?
  let scaleDType: TorchDType?
  let zpDType: TorchDType
  let epsilon: Float

  @usableFromInline
  init(_ args: QuantizationArgs, globalScale: Float?) {
    symmetric = args.symmetric
    usesMX = args.usesMXScales
    range = QuantizedRange(args)
    width = range.width
    halfWidth = Float(Double(range.width) / 2)
    self.globalScale = globalScale
    scaleDType = args.scaleDType
    zpDType = args.zpDType
    epsilon = (args.scaleDType ?? .float32).epsilon
  }

  @usableFromInline
  func scaleAndZeroPoint(min rawMin: Float, max rawMax: Float) -> (Float, Float) {
    let mn = propagatingMin(rawMin, 0)
    let mx = propagatingMax(rawMax, 0)
    var s: Float
    var zp: Float
    if symmetric {
      let amax = propagatingMax(mn.magnitude, mx.magnitude)
      s = usesMX ? MXScale.exponent(ofAbsoluteMaximum: amax) : amax / halfWidth
      zp = 0
    } else {
      s = (mx - mn) / width
      zp = range.lowerBound - mn / s
      if !zp.isNaN { zp = Swift.min(Swift.max(zp, range.lowerBound), range.upperBound) }
    }
    if let g = globalScale { s = g * s }
    if let d = scaleDType { s = d.rounded(s) }
    if usesMX { s = MXScale.decode(exponent: s) }
    if s == 0 { s = epsilon }
    // A symmetric zero point is +0, which every zero-point dtype keeps as it is.
    return (s, symmetric ? 0 : zpDType.rounded(zp))
  }
}
