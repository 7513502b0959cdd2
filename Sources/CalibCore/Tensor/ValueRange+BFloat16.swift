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

  /// A run of `length` bf16 values (a multiple of 8, at least 8) folded into eight lanes
  /// of partial minimum and maximum keys.
  @inline(__always)
  static func partialKeys(_ raw: UnsafeRawPointer, _ length: Int) -> (low: Keys, high: Keys) {
    var low = keys(raw.loadUnaligned(as: Keys.self))
    var high = low
    var i = 8
    while i &+ 16 <= length {
      let a = keys(raw.loadUnaligned(fromByteOffset: i &* 2, as: Keys.self))
      let b = keys(raw.loadUnaligned(fromByteOffset: i &* 2 &+ 16, as: Keys.self))
      low = lower(low, lower(a, b))
      high = upper(high, upper(a, b))
      i &+= 16
    }
    if i < length {
      let a = keys(raw.loadUnaligned(fromByteOffset: i &* 2, as: Keys.self))
      low = lower(low, a)
      high = upper(high, a)
    }
    return (low, high)
  }

  /// Eight vectors reduced across their lanes by `combine` at once: lane `k` of the
  /// result combines all lanes of vector `k`. Three rounds of pairing even lanes with odd
  /// ones, seven combines in all instead of eight horizontal reductions.
  @inline(__always)
  static func transposed(
    _ v: (Keys, Keys, Keys, Keys, Keys, Keys, Keys, Keys), _ combine: (Keys, Keys) -> Keys
  ) -> Keys {
    @inline(__always) func pair(_ a: Keys, _ b: Keys) -> Keys {
      combine(
        Keys(a[0], a[2], a[4], a[6], b[0], b[2], b[4], b[6]),
        Keys(a[1], a[3], a[5], a[7], b[1], b[3], b[5], b[7]))
    }
    // Lanes hold, in turn: 4 partials of each of 2 vectors; 2 of each of 4; 1 of each of 8.
    let quarters = (pair(v.0, v.1), pair(v.2, v.3), pair(v.4, v.5), pair(v.6, v.7))
    return pair(pair(quarters.0, quarters.1), pair(quarters.2, quarters.3))
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

extension ValueRange {
  /// The range of bf16 values given as their bits: from the bits where they decide it
  /// (``init(bfloat16Bits:)``), otherwise by the float reduction of the decoded values.
  /// Equal to ``init(of:)`` on the decoded values.
  public init(ofBFloat16Bits bits: UnsafeBufferPointer<UInt16>) {
    guard let base = bits.baseAddress, !bits.isEmpty else {
      self = .empty
      return
    }
    self.init(RangeReduction.run(bfloat16Bits: base, bits.count))
  }
}
