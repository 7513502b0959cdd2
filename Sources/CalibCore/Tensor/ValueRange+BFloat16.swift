extension ValueRange {
  /// The range of bf16 values given as their raw bits (in the host's byte order, at any
  /// alignment), reduced without widening them to float32: a bf16 value is sign and
  /// magnitude, so the 16-bit integer
  /// `bits ^ ((bits >> 15) & 0x7FFF)` (arithmetic shift) orders values as their floats
  /// do, and eight of them take one signed 16-bit min and max.
  ///
  /// Returns `nil` where the float reduction (``init(of:)``) must decide: when a value is
  /// NaN (a magnitude above 0x7F80, which lands outside ±0x7F80 among the keys), or when
  /// the minimum or the maximum is a zero, whose sign the float reduction takes from the
  /// order it meets -0 and +0 in. Otherwise the result equals ``init(of:)`` on the values.
  public init?(bfloat16Bits bytes: UnsafeRawBufferPointer) {
    let count = bytes.count / 2
    guard let raw = bytes.baseAddress, count > 0 else {
      self = .empty
      return
    }
    @inline(__always) func key(_ b: SIMD8<Int16>) -> SIMD8<Int16> { b ^ ((b &>> 15) & SIMD8(repeating: 0x7FFF)) }
    var low = SIMD8<Int16>(repeating: .max)
    var high = SIMD8<Int16>(repeating: .min)
    var i = 0
    while i &+ 8 <= count {
      let k = key(raw.loadUnaligned(fromByteOffset: i &* 2, as: SIMD8<Int16>.self))
      // Per lane, so that the compiler emits pminsw and pmaxsw.
      for lane in 0..<8 {
        low[lane] = k[lane] < low[lane] ? k[lane] : low[lane]
        high[lane] = k[lane] > high[lane] ? k[lane] : high[lane]
      }
      i &+= 8
    }
    var (lowest, highest) = (low.min(), high.max())
    while i < count {
      let b = raw.loadUnaligned(fromByteOffset: i &* 2, as: Int16.self)
      let k = b ^ ((b >> 15) & 0x7FFF)
      (lowest, highest) = (Swift.min(lowest, k), Swift.max(highest, k))
      i &+= 1
    }
    // Keys of NaN lie beyond those of ±∞ (±0x7F80); ±0 are 0 and -1.
    guard lowest >= -0x7F81 && highest <= 0x7F80 else { return nil }
    guard lowest != 0 && lowest != -1 && highest != 0 && highest != -1 else { return nil }
    @inline(__always) func value(_ k: Int16) -> Float {
      let b = k ^ ((k >> 15) & 0x7FFF)
      return Float(bitPattern: UInt32(UInt16(bitPattern: b)) << 16)
    }
    self.init(min: value(lowest), max: value(highest))
  }
}
