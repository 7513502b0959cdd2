import CalibCore
import CalibFormats

extension ElementType {
  /// The format in which samples of this dtype are handed to observers computing in
  /// `arithmetic` as their raw 16-bit bits; `nil` when they are decoded to float32 instead
  /// (wider dtypes, big-endian hosts, and 16-bit values that do not belong to the
  /// arithmetic's dtype: bf16 in f16 arithmetic, f16 in bf16 arithmetic).
  func halfFormat(arithmetic: FloatDType) -> HalfFormat? {
    #if _endian(little)
      switch self {
      case .bf16 where arithmetic != .float16: return .bfloat16
      case .f16 where arithmetic != .bfloat16: return .float16
      default: return nil
      }
    #else
      return nil
    #endif
  }
}
