/// The floating-point dtype a tensor's values live in, and so the dtype torch computes in
/// when an observer or quantizer is fed that tensor.
///
/// Values are read as float32 (a bf16 tensor may keep its raw bits and decode them on
/// first read); a `.bfloat16` or `.float16` tensor holds only values exactly
/// representable in that dtype. torch's rules on CPU, which
/// ``rounded(_:)`` and ``promoted(with:)`` encode:
/// ```
/// elementwise op      computed in float32, result rounded to the dtype (nearest even)
/// Python scalar, 0-d  does not change the dtype (the scalar is taken as float32)
/// float32 with dims   promotes the result to float32
/// sum / mean          accumulate in float32, round once at the end
/// amin / amax / min / max   exact
/// ```
///
/// For example:
/// ```swift
/// FloatDType.bfloat16.rounded(1.00390625)  // 1.0 (the tie goes to even)
/// FloatDType.float16.rounded(65520)        // +inf
/// ```
public enum FloatDType: String, Sendable, Codable, CaseIterable {
  case float32
  case bfloat16
  case float16

  /// The dtype's name as torch prints it, for example `"torch.bfloat16"`.
  public var torchName: String { torchDType.rawValue }

  /// The matching ``TorchDType``.
  public var torchDType: TorchDType {
    switch self {
    case .float32: .float32
    case .bfloat16: .bfloat16
    case .float16: .float16
    }
  }

  /// The dtype of a ``TorchDType`` that is one of float32, bfloat16 or float16; `nil`
  /// otherwise.
  public init?(_ dtype: TorchDType) {
    switch dtype {
    case .float32: self = .float32
    case .bfloat16: self = .bfloat16
    case .float16: self = .float16
    default: return nil
    }
  }

  /// `torch.finfo(dtype).eps`: 2⁻²³, 2⁻⁷ and 2⁻¹⁰.
  public var epsilon: Float { torchDType.epsilon }

  /// `torch.finfo(dtype).max`.
  public var greatestFiniteMagnitude: Float {
    switch self {
    case .float32: .greatestFiniteMagnitude
    case .bfloat16: Float(bitPattern: 0x7F7F_0000)
    case .float16: 65504
    }
  }

  /// The value a float32 result becomes when stored in this dtype: round to nearest,
  /// ties to even, overflowing to ±∞ (no clamp, unlike ``TorchDType/rounded(_:)``);
  /// NaN stays NaN. The identity for float32.
  @inlinable
  public func rounded(_ x: Float) -> Float {
    switch self {
    case .float32: x
    case .bfloat16: BFloat16.rounded(x)
    case .float16: BFloat16.halfRounded(x)
    }
  }

  /// ``rounded(_:)`` for eight lanes.
  @inlinable
  public func rounded(_ x: SIMD8<Float>) -> SIMD8<Float> {
    switch self {
    case .float32: x
    case .bfloat16: BFloat16.rounded(x)
    case .float16: BFloat16.halfRounded(x)
    }
  }

  /// Whether `x` is exactly representable (NaN counts as representable).
  @inlinable
  public func represents(_ x: Float) -> Bool {
    x.isNaN || rounded(x).bitPattern == x.bitPattern
  }

  /// The result dtype of an elementwise op between two tensors with dimensions of these
  /// dtypes: the same dtype, or float32 when they differ (bf16 with f16 included).
  public func promoted(with other: FloatDType) -> FloatDType {
    self == other ? self : .float32
  }
}

extension TorchDType {
  /// The ``FloatDType`` of float32, bfloat16 and float16; `nil` for other dtypes.
  public var floatDType: FloatDType? { FloatDType(self) }
}

/// Rounding of eight lanes to one dtype, chosen at compile time so that the float32
/// instance compiles to nothing and the hot loops specialize per dtype.
///
/// `round` is for the MSE search's kernels, whose lanes are never NaN (non-finite input is
/// refused first), so it skips the NaN blend of ``FloatDType/rounded(_:)-(SIMD8<Float>)``.
protocol LaneRounding: Sendable {
  static var dtype: FloatDType { get }
  /// Rounds NaN-free lanes to the dtype.
  static func round(_ x: SIMD8<Float>) -> SIMD8<Float>
}

/// float32: no rounding.
enum Float32Lanes: LaneRounding {
  static var dtype: FloatDType { .float32 }
  @inline(__always) static func round(_ x: SIMD8<Float>) -> SIMD8<Float> { x }
}

/// bfloat16 round to nearest even on the bits: `(bits + 0x7FFF + bit16) & 0xFFFF0000`.
enum BFloat16Lanes: LaneRounding {
  static var dtype: FloatDType { .bfloat16 }
  @inline(__always) static func round(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let b = unsafeBitCast(x, to: SIMD8<UInt32>.self)
    let lsb = (b &>> 16) & SIMD8(repeating: 1)
    let r = (b &+ SIMD8(repeating: 0x7FFF) &+ lsb) & SIMD8(repeating: 0xFFFF_0000)
    return unsafeBitCast(r, to: SIMD8<Float>.self)
  }
}

/// float16 round to nearest even with subnormals and overflow to ±∞.
enum Float16Lanes: LaneRounding {
  static var dtype: FloatDType { .float16 }
  @inline(__always) static func round(_ x: SIMD8<Float>) -> SIMD8<Float> { BFloat16.halfRounded(x) }
}
