import CalibKernels

/// The scale and zero point of a quantized tensor, with the dtypes torch returns them in.
///
/// Values are stored as float32 for both; the scale's values lie on the grid of
/// ``scaleDType`` (the scale tensor's ``Tensor/dtype`` says the same for float dtypes) and
/// the zero point's on the grid of ``zeroPointDType`` (int8 by default), as the reference
/// returns them in those dtypes.
///
/// For example, bf16 ranges give a bf16 scale, except under an NVFP4 global scale, whose
/// float32 tensor promotes the local scales to float32:
/// ```swift
/// let p = try args.quantizationParameters(min: mn, max: mx)   // mn, mx: .bfloat16
/// p.scaleDType  // .bfloat16
/// ```
public struct QuantizationParameters: Sendable, Equatable {
  public var scale: Tensor
  public var zeroPoint: Tensor
  public var zeroPointDType: TorchDType
  /// The dtype torch returns the scale in: the ranges' dtype, or float32 when a global
  /// scale multiplied it (`global_scale * scales` with a float32 `(1,)` tensor).
  public var scaleDType: TorchDType

  /// The dtype of a global scale: `generate_gparam` always returns float32 (computed in
  /// the observed dtype, then converted).
  public static let globalScaleDType: TorchDType = .float32

  public init(
    scale: Tensor, zeroPoint: Tensor, zeroPointDType: TorchDType, scaleDType: TorchDType = .float32
  ) {
    self.scale = scale
    self.zeroPoint = zeroPoint
    self.zeroPointDType = zeroPointDType
    self.scaleDType = scaleDType
  }
}

extension QuantizationArgs {
  /// Computes scales and zero points from ranges: compressed-tensors 0.14
  /// `calculate_qparams`, element by element in the ranges' dtype D (`min.dtype`).
  ///
  /// `r(·)` marks where torch rounds a float32 result to D (nothing for float32):
  /// ```
  /// mn := min(mn, 0); mx := max(mx, 0)           exact (0 must be representable; NaN propagates)
  /// symmetric:  s := r(max(|mn|, |mx|) / (range / 2))   (MX: power-of-two exponent, exact)
  ///             zp := 0
  /// asymmetric: s := r(r(mx - mn) / range);  zp := clamp(r(q_min - r(mn / s)), q_min, q_max)
  /// s := g · s                  when a global scale g is given: float32 from here on (S)
  /// s := round(s, scale_dtype)  when set (FP8: clamp ±448, nearest even), kept in S
  /// MX: s := 2^(s - 127)        in S
  /// s := eps(scale_dtype or S) where s == 0 exactly   (f32 2⁻²³, bf16 2⁻⁷, f16 2⁻¹⁰)
  /// zp := round(zp, zp_dtype)
  /// ```
  /// The scale is returned in S (``QuantizationParameters/scaleDType``). A 0-d input gives
  /// shape `[1]`, like the reference.
  ///
  /// > Note: For MX arguments with float16 ranges, compressed-tensors 0.14 fails
  /// > (`round_to_power_2` accepts only bf16 and float32 scales); CalibCore computes the
  /// > exponent from the value as for the other dtypes.
  ///
  /// - Parameter parallel: whether large inputs may spread over all cores (results are
  ///   the same either way).
  /// - Throws: ``QuantizationArgsError/asymmetricFP4`` for asymmetric FP4.
  public func quantizationParameters(
    min: Tensor, max: Tensor, globalScale: Float? = nil, parallel: Bool = true
  ) throws -> QuantizationParameters {
    precondition(min.shape == max.shape, "min shape \(min.shape) != max shape \(max.shape)")
    let kernel = try parameterKernel(globalScale: globalScale, dtype: min.dtype.promoted(with: max.dtype))
    let n = min.elementCount
    let (scales, zeros) = Self.filledScalesAndZeros(count: n, symmetric: kernel.symmetric) { sp, zp in
      // Element-wise, so chunks can run in parallel with identical results.
      let chunk = 1 << 16
      min.values.withUnsafeBufferPointer { mins in
        max.values.withUnsafeBufferPointer { maxs in
          let (lo, hi) = (SharedPointer(mins.baseAddress!), SharedPointer(maxs.baseAddress!))
          ForkJoin.forEach((n + chunk - 1) / chunk, parallel: parallel) { c in
            kernel.parameters(
              mins: lo.readOnly, maxs: hi.readOnly, (c * chunk)..<Swift.min(n, (c + 1) * chunk), scales: sp.base,
              zeros: zp?.base, outputs: n)
          }
        }
      }
    }
    return parameters(shape: min.shape, scales: scales, zeros: zeros, kernel)
  }

  /// `count` scales and zero points, each slot written by `fill` (which must write every
  /// one): no zero fill first, which would be a serial pass over both outputs. `fill` is
  /// not called for `count` 0.
  ///
  /// A symmetric scheme's zero points are all 0: `fill` gets no buffer for them, and the
  /// result has `nil` in their place (see ``parameters(shape:scales:zeros:_:)``).
  static func filledScalesAndZeros(
    count: Int, symmetric: Bool, _ fill: (SharedPointer<Float>, SharedPointer<Float>?) -> Void
  ) -> (scales: [Float], zeros: [Float]?) {
    guard count > 0 else { return ([], symmetric ? nil : []) }
    var zeros: [Float]?
    let scales = [Float](unsafeUninitializedCapacity: count) { s, scaleCount in
      // Non-nil base addresses: count > 0.
      if symmetric {
        fill(SharedPointer(s.baseAddress!), nil)
      } else {
        zeros = [Float](unsafeUninitializedCapacity: count) { z, zeroCount in
          fill(SharedPointer(s.baseAddress!), SharedPointer(z.baseAddress!))
          zeroCount = count
        }
      }
      scaleCount = count
    }
    return (scales, zeros)
  }

  /// The kernel of ``quantizationParameters(min:max:globalScale:parallel:)`` for ranges
  /// in `dtype`.
  ///
  /// - Throws: ``QuantizationArgsError/asymmetricFP4`` for asymmetric FP4.
  func parameterKernel(globalScale: Float?, dtype: FloatDType) throws -> QParamKernel {
    if !symmetric && isFP4 { throw QuantizationArgsError.asymmetricFP4 }
    return QParamKernel(self, globalScale: globalScale, dtype: dtype)
  }

  /// The scales and zero points `kernel` wrote, for ranges of `shape` (a 0-d shape gives
  /// `[1]`, as the reference does). `zeros` `nil`: all 0, held as one repeated value.
  func parameters(shape: [Int], scales: [Float], zeros: [Float]?, _ kernel: QParamKernel) -> QuantizationParameters {
    let shape = shape.isEmpty ? [1] : shape
    return parameters(scale: Tensor(shape: shape, values: scales, dtype: kernel.scaleArithmetic), zeros: zeros, kernel)
  }

  /// ``parameters(shape:scales:zeros:_:)`` of symmetric scales that `kernel` rounded to
  /// E4M3FN, held as their bytes.
  func parameters(shape: [Int], float8Scales: [UInt8], _ kernel: QParamKernel) -> QuantizationParameters {
    let shape = shape.isEmpty ? [1] : shape
    return parameters(
      scale: Tensor(shape: shape, float8E4M3Bits: float8Scales, dtype: kernel.scaleArithmetic), zeros: nil, kernel)
  }

  private func parameters(scale: Tensor, zeros: [Float]?, _ kernel: QParamKernel) -> QuantizationParameters {
    QuantizationParameters(
      scale: scale,
      zeroPoint: zeros.map { Tensor(shape: scale.shape, values: $0) } ?? Tensor(shape: scale.shape, repeating: 0),
      zeroPointDType: zpDType, scaleDType: kernel.scaleArithmetic.torchDType)
  }
}

extension QParamKernel {
  /// `calculate_qparams` of the (min, max) pairs `range` of `mins` and `maxs`, written to
  /// the same slots of `scales` and `zeros` (each `outputs` long): sixteen at a time by
  /// `calib_symmetric_scales` (on AVX-512, `width` 16, or AVX2, `width` 8) where
  /// ``wideScaleParameters(outputs:)`` allows, eight at a time on the vector path, one by
  /// one otherwise.
  ///
  /// - Precondition: `zeros` is `nil` exactly when the kernel is symmetric: its zero points
  ///   are all 0 and are not written (callers hold them as one repeated value).
  func parameters(
    mins: UnsafePointer<Float>, maxs: UnsafePointer<Float>, _ range: Range<Int>, scales: UnsafeMutablePointer<Float>,
    zeros: UnsafeMutablePointer<Float>?, outputs: Int, width: Int = WideKernels.width
  ) {
    precondition((zeros == nil) == symmetric, "zero points are written exactly for an asymmetric kernel")
    var i = range.lowerBound
    if width >= 8, var wide = wideScaleParameters(outputs: outputs) {
      let count = range.count & ~15
      calib_symmetric_scales(Int32(width), mins + i, maxs + i, count, &wide, scales + i, nil)
      i += count
    }
    if hasVectorPath {
      let (lo, hi) = (UnsafeRawPointer(mins), UnsafeRawPointer(maxs))
      let out = UnsafeMutableRawPointer(scales)
      while i + 8 <= range.upperBound {
        let scale = self.scales(
          min: lo.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self),
          max: hi.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
        out.storeBytes(of: scale, toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
      }
    }
    while i < range.upperBound {
      let (scale, zero) = scaleAndZeroPoint(min: mins[i], max: maxs[i])
      scales[i] = scale
      zeros?[i] = zero
      i += 1
    }
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
  /// D: the dtype of the ranges, in which the scale and zero point are computed.
  let dtype: FloatDType
  /// S: the dtype of the returned scale, D or float32 under a global scale.
  let scaleArithmetic: FloatDType

  @usableFromInline
  init(_ args: QuantizationArgs, globalScale: Float?, dtype: FloatDType = .float32) {
    symmetric = args.symmetric
    usesMX = args.usesMXScales
    range = QuantizedRange(args)
    width = range.width
    halfWidth = Float(Double(range.width) / 2)
    self.globalScale = globalScale
    scaleDType = args.scaleDType
    zpDType = args.zpDType
    self.dtype = dtype
    scaleArithmetic = globalScale == nil ? dtype : .float32
    // `torch.tensor(eps, dtype=scales.dtype)`: the eps of scale_dtype, or of S, stored in S.
    epsilon = scaleArithmetic.rounded((args.scaleDType ?? scaleArithmetic.torchDType).epsilon)
  }

  @usableFromInline
  func scaleAndZeroPoint(min rawMin: Float, max rawMax: Float) -> (Float, Float) {
    let mn = propagatingMin(rawMin, 0)
    let mx = propagatingMax(rawMax, 0)
    var s: Float
    var zp: Float
    if symmetric {
      let amax = propagatingMax(mn.magnitude, mx.magnitude)
      // The MX exponent is an integer (or ±∞, NaN) of at most 8 bits: exact in every D.
      // round_to_power_2 on bf16 bits adds 1 << 5 to a value whose float32 bits end in 16
      // zeros, which is the float32 computation.
      s = usesMX ? MXScale.exponent(ofAbsoluteMaximum: amax) : dtype.rounded(amax / halfWidth)
      zp = 0
    } else {
      s = dtype.rounded(dtype.rounded(mx - mn) / width)
      zp = dtype.rounded(range.lowerBound - dtype.rounded(mn / s))
      if !zp.isNaN { zp = Swift.min(Swift.max(zp, range.lowerBound), range.upperBound) }
    }
    if let g = globalScale { s = g * s }
    if let d = scaleDType { s = scaleArithmetic.rounded(d.rounded(s)) }
    if usesMX { s = scaleArithmetic.rounded(MXScale.decode(exponent: s)) }
    if s == 0 { s = epsilon }
    // A symmetric zero point is +0, which every zero-point dtype keeps as it is.
    return (s, symmetric ? 0 : zpDType.rounded(zp))
  }
}
