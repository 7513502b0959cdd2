import CalibCore
import CalibFormats

extension ValueRange {
  /// The range of a tensor read as `raw` little-endian bytes of `dtype` and decoded to
  /// `decoded`: for bf16, from the raw bits (half the bytes, integer compares; see
  /// ``ValueRange/init(bfloat16Bits:)``), unless that reduction leaves the answer to the
  /// float one over `decoded`.
  init(raw: UnsafeRawBufferPointer, dtype: ElementType, decoded: UnsafeBufferPointer<Float>) {
    #if _endian(little)
      if dtype == .bf16, let range = ValueRange(bfloat16Bits: raw) {
        self = range
        return
      }
    #endif
    self.init(of: decoded)
  }
}
