/// The torch dtypes a quantization argument can name for `scale_dtype` and `zp_dtype`,
/// spelled as compressed-tensors serializes them (`"torch.float8_e4m3fn"`).
public enum TorchDType: String, Sendable, Codable, CaseIterable {
  case float32 = "torch.float32"
  case float16 = "torch.float16"
  case bfloat16 = "torch.bfloat16"
  case float64 = "torch.float64"
  case float8E4M3FN = "torch.float8_e4m3fn"
  case int8 = "torch.int8"
  case uint8 = "torch.uint8"
  case int16 = "torch.int16"
  case int32 = "torch.int32"
  case int64 = "torch.int64"

  /// Parses `"torch.float8_e4m3fn"` or the bare `"float8_e4m3fn"`.
  public init?(name: String) {
    let bare = name.hasPrefix("torch.") ? String(name.dropFirst(6)) : name
    guard let value = TorchDType(rawValue: "torch." + bare) else { return nil }
    self = value
  }

  /// Whether values of this dtype are floating point.
  public var isFloatingPoint: Bool {
    switch self {
    case .float32, .float16, .bfloat16, .float64, .float8E4M3FN: true
    default: false
    }
  }

  /// `torch.finfo(dtype).eps` for floats (0.125 for FP8 E4M3FN), 1 for integers: the
  /// value `calculate_qparams` writes in place of a scale that is exactly zero.
  public var epsilon: Float {
    switch self {
    case .float32, .float64: Float.ulpOfOne
    case .float16: 0x1p-10
    case .bfloat16: 0x1p-7
    case .float8E4M3FN: Float8E4M3.epsilon
    default: 1
    }
  }

  /// Rounds a float32 value onto this dtype's grid and returns it as float32
  /// (`round_to_quantized_type_dtype`).
  ///
  /// Floats: clamp to `[finfo.min, finfo.max]`, then round to nearest even. Integers:
  /// clamp to `[iinfo.min, iinfo.max]`, round half to even. NaN survives a float target
  /// and becomes 0 for an integer target, as the cast does on x86.
  @inlinable
  public func rounded(_ x: Float) -> Float {
    switch self {
    case .float32, .float64: return x
    case .float16: return BFloat16.roundedToHalf(x)
    case .bfloat16:
      let limit = Float(bitPattern: 0x7F7F_0000)  // bfloat16 finfo.max
      return x.isNaN ? x : BFloat16.rounded(Swift.min(Swift.max(x, -limit), limit))
    case .float8E4M3FN: return x.isNaN ? x : Float8E4M3.rounded(Swift.min(Swift.max(x, -448), 448))
    case .int8: return Self.roundedInteger(x, min: -128, max: 127)
    case .uint8: return Self.roundedInteger(x, min: 0, max: 255)
    case .int16: return Self.roundedInteger(x, min: -32768, max: 32767)
    case .int32: return Self.roundedInteger(x, min: -0x1p31, max: 0x1p31)
    case .int64: return Self.roundedInteger(x, min: -0x1p63, max: 0x1p63)
    }
  }

  @usableFromInline
  static func roundedInteger(_ x: Float, min: Float, max: Float) -> Float {
    if x.isNaN { return 0 }
    let clamped = Swift.min(Swift.max(x, min), max)
    return clamped.rounded(.toNearestOrEven) + 0  // + 0 turns an integer -0.0 into 0
  }
}
