import CalibCore

/// The element type of a stored tensor, spelled as the safetensors `dtype` string.
///
/// Every element type decodes exactly (or, for `F64`, `I32` and `I64`, with round to nearest
/// even) to float32; see `decode(_:)` and `encode(_:)`.
///
/// For example:
/// ```swift
/// ElementType(rawValue: "BF16")  // .bf16
/// ElementType.bf16.byteWidth     // 2
/// ```
public enum ElementType: String, Sendable, CaseIterable, Codable {
  /// IEEE 754 binary32.
  case f32 = "F32"
  /// IEEE 754 binary16.
  case f16 = "F16"
  /// bfloat16: the top half of a binary32.
  case bf16 = "BF16"
  /// IEEE 754 binary64.
  case f64 = "F64"
  /// Signed 8-bit integer.
  case i8 = "I8"
  /// Unsigned 8-bit integer.
  case u8 = "U8"
  /// Signed 32-bit integer.
  case i32 = "I32"
  /// Signed 64-bit integer.
  case i64 = "I64"
  /// FP8 E4M3FN (`torch.float8_e4m3fn`).
  case f8E4M3 = "F8_E4M3"
  /// Boolean stored as one byte, zero for false.
  case bool = "BOOL"

  /// The number of bytes one element occupies.
  public var byteWidth: Int {
    switch self {
    case .f64, .i64: return 8
    case .f32, .i32: return 4
    case .f16, .bf16: return 2
    case .i8, .u8, .f8E4M3, .bool: return 1
    }
  }

  /// Whether the type is a floating-point format (as opposed to an integer or boolean).
  public var isFloatingPoint: Bool {
    switch self {
    case .f32, .f16, .bf16, .f64, .f8E4M3: return true
    case .i8, .u8, .i32, .i64, .bool: return false
    }
  }
}

extension ElementType {
  /// The safetensors type of a model dtype.
  public init(_ dtype: FloatDType) {
    switch dtype {
    case .float32: self = .f32
    case .bfloat16: self = .bf16
    case .float16: self = .f16
    }
  }

  /// The dtype a model computes in when its tensors are of this type: bf16, f16 and f32
  /// as they are; `nil` for the others (a model does not calibrate in them, and their
  /// samples are computed on in float32).
  public var modelDType: FloatDType? {
    switch self {
    case .f32: .float32
    case .bf16: .bfloat16
    case .f16: .float16
    default: nil
    }
  }
}
