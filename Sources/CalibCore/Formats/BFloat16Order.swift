/// bf16 values ordered as integers (f16 values too, with their own ∞: ``HalfFormat``):
/// a bf16 value is sign and magnitude, so the 16-bit
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

  /// The value of a key (the map is its own inverse) in `format`.
  @inline(__always) static func value(_ key: Int16, _ format: HalfFormat) -> Float {
    format.float(UInt16(bitPattern: Self.key(key)))
  }

  /// The float32 values of four keys held as sign-extended 32-bit integers.
  @inline(__always) static func values(_ keys: SIMD4<Int32>, _ format: HalfFormat) -> SIMD4<Float> {
    let bits = keys ^ ((keys &>> 15) & SIMD4(repeating: 0x7FFF))
    if format == .bfloat16 { return unsafeBitCast(bits &<< 16, to: SIMD4<Float>.self) }
    return SIMD4(
      format.float(UInt16(truncatingIfNeeded: bits[0])), format.float(UInt16(truncatingIfNeeded: bits[1])),
      format.float(UInt16(truncatingIfNeeded: bits[2])), format.float(UInt16(truncatingIfNeeded: bits[3])))
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
    var (lowest, highest) = (Int16.max, Int16.min)
    let vectors = count & ~7
    if vectors > 0 {
      let (low, high) = partialKeys(raw, vectors)
      (lowest, highest) = (low.min(), high.max())
    }
    for i in vectors..<count {
      let k = key(raw.loadUnaligned(fromByteOffset: i &* 2, as: Int16.self))
      (lowest, highest) = (Swift.min(lowest, k), Swift.max(highest, k))
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

  /// Eight vectors each reduced across its lanes by `combine`, all at once: the results
  /// for vectors 0–3 and 4–7, as sign-extended 32-bit lanes in vector order.
  ///
  /// The lanes are paired by 64-bit halves, then by 32-bit quarters (shuffles SSE2 has),
  /// and last each 32-bit lane's two 16-bit halves by a shift: seven combines and a few
  /// shuffles instead of eight horizontal reductions.
  @inline(__always)
  static func transposed(
    _ v: (Keys, Keys, Keys, Keys, Keys, Keys, Keys, Keys), _ combine: (Keys, Keys) -> Keys
  ) -> (SIMD4<Int32>, SIMD4<Int32>) {
    // [a's 8 partials], [b's 8] → [a's 4 | b's 4]
    @inline(__always) func halves(_ a: Keys, _ b: Keys) -> Keys {
      let (x, y) = (unsafeBitCast(a, to: SIMD2<UInt64>.self), unsafeBitCast(b, to: SIMD2<UInt64>.self))
      return combine(unsafeBitCast(SIMD2(x[0], y[0]), to: Keys.self), unsafeBitCast(SIMD2(x[1], y[1]), to: Keys.self))
    }
    // [a's 4 | b's 4], [c's 4 | d's 4] → [a's 2 | b's 2 | c's 2 | d's 2]
    @inline(__always) func quarters(_ a: Keys, _ b: Keys) -> Keys {
      let (x, y) = (unsafeBitCast(a, to: SIMD4<UInt32>.self), unsafeBitCast(b, to: SIMD4<UInt32>.self))
      return combine(
        unsafeBitCast(SIMD4(x[0], x[2], y[0], y[2]), to: Keys.self),
        unsafeBitCast(SIMD4(x[1], x[3], y[1], y[3]), to: Keys.self))
    }
    // Each 32-bit lane's two halves → its low half, sign-extended.
    @inline(__always) func finish(_ a: Keys) -> SIMD4<Int32> {
      let high = unsafeBitCast(unsafeBitCast(a, to: SIMD4<UInt32>.self) &>> 16, to: Keys.self)
      return (unsafeBitCast(combine(a, high), to: SIMD4<Int32>.self) &<< 16) &>> 16
    }
    return (
      finish(quarters(halves(v.0, v.1), halves(v.2, v.3))),
      finish(quarters(halves(v.4, v.5), halves(v.6, v.7)))
    )
  }

  /// The range of a key range, or `nil` where the float reduction must decide: a NaN
  /// among the values (a key beyond ±∞'s), or a zero at either end, whose sign the float
  /// reduction takes from the order it meets -0 and +0 in.
  @inline(__always)
  static func range(low: Int16, high: Int16, _ format: HalfFormat) -> ValueRange? {
    guard low >= -format.infinityKey - 1 && high <= format.infinityKey else { return nil }
    guard low != 0 && low != -1 && high != 0 && high != -1 else { return nil }
    return ValueRange(min: value(low, format), max: value(high, format))
  }
}
