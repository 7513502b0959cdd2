/// bf16 values ordered as integers: a bf16 value is sign and magnitude, so the 16-bit
/// key `bits ^ ((bits >> 15) & 0x7FFF)` (arithmetic shift) orders values as their floats
/// do, and eight of them take one signed 16-bit min and max (pminsw, pmaxsw) at half
/// the bytes of float32.
///
/// ```
/// value   -NaN…     -∞        -0   +0   +∞       NaN…
/// key     < -0x7F81 -0x7F81   -1   0    0x7F80   > 0x7F80
/// ```
enum BFloat16Order {
  typealias Keys = SIMD8<Int16>

  @inline(__always) static func keys(_ bits: Keys) -> Keys {
    bits ^ ((bits &>> 15) & Keys(repeating: 0x7FFF))
  }

  @inline(__always) static func key(_ bits: Int16) -> Int16 {
    bits ^ ((bits >> 15) & 0x7FFF)
  }

  /// The value of a key (the map is its own inverse).
  @inline(__always) static func value(_ key: Int16) -> Float {
    let bits = Self.key(key)
    return Float(bitPattern: UInt32(UInt16(bitPattern: bits)) &<< 16)
  }

  // Per lane, so that the compiler emits pminsw and pmaxsw.
  @inline(__always) static func lower(_ a: Keys, _ b: Keys) -> Keys {
    var out = Keys()
    for lane in 0..<8 { out[lane] = a[lane] < b[lane] ? a[lane] : b[lane] }
    return out
  }

  @inline(__always) static func upper(_ a: Keys, _ b: Keys) -> Keys {
    var out = Keys()
    for lane in 0..<8 { out[lane] = a[lane] > b[lane] ? a[lane] : b[lane] }
    return out
  }

  /// The smallest and largest key of `count` bf16 values at `raw` (any alignment).
  @inline(__always)
  static func keyRange(_ raw: UnsafeRawPointer, count: Int) -> (low: Int16, high: Int16) {
    var low = Keys(repeating: .max)
    var high = Keys(repeating: .min)
    var i = 0
    while i &+ 16 <= count {
      let a = keys(raw.loadUnaligned(fromByteOffset: i &* 2, as: Keys.self))
      let b = keys(raw.loadUnaligned(fromByteOffset: i &* 2 &+ 16, as: Keys.self))
      low = lower(low, lower(a, b))
      high = upper(high, upper(a, b))
      i &+= 16
    }
    if i &+ 8 <= count {
      let a = keys(raw.loadUnaligned(fromByteOffset: i &* 2, as: Keys.self))
      low = lower(low, a)
      high = upper(high, a)
      i &+= 8
    }
    var (lowest, highest) = (low.min(), high.max())
    while i < count {
      let k = key(raw.loadUnaligned(fromByteOffset: i &* 2, as: Int16.self))
      (lowest, highest) = (Swift.min(lowest, k), Swift.max(highest, k))
      i &+= 1
    }
    return (lowest, highest)
  }

  /// The range of a key range, or `nil` where the float reduction must decide: a NaN
  /// among the values (a key beyond ±∞'s), or a zero at either end, whose sign the float
  /// reduction takes from the order it meets -0 and +0 in.
  @inline(__always)
  static func range(low: Int16, high: Int16) -> ValueRange? {
    guard low >= -0x7F81 && high <= 0x7F80 else { return nil }
    guard low != 0 && low != -1 && high != 0 && high != -1 else { return nil }
    return ValueRange(min: value(low), max: value(high))
  }
}

extension ValueRange {
  /// The range of bf16 values given as their raw bits (in the host's byte order, at any
  /// alignment), reduced without widening them to float32 (``BFloat16Order``).
  ///
  /// Returns `nil` where the float reduction (``init(of:)``) must decide: when a value is
  /// NaN, or when the minimum or the maximum is a zero. Otherwise the result equals
  /// ``init(of:)`` on the values. No values give ``empty``.
  public init?(bfloat16Bits bytes: UnsafeRawBufferPointer) {
    let count = bytes.count / 2
    guard let raw = bytes.baseAddress, count > 0 else {
      self = .empty
      return
    }
    let (low, high) = BFloat16Order.keyRange(raw, count: count)
    guard let range = BFloat16Order.range(low: low, high: high) else { return nil }
    self = range
  }
}
