import CalibFormats

/// Counts NaN and ±∞ in raw little-endian tensor bytes without decoding them, by the
/// exponent bits of each float format (integer formats have none).
enum NonFiniteCount {
  static func count(_ bytes: UnsafeRawBufferPointer, dtype: ElementType) -> (nan: Int, inf: Int) {
    // Clean data is the rule: a vector scan for an all-ones exponent decides whether the
    // exact (scalar) count is needed at all.
    switch dtype {
    case .bf16 where !anyAllOnes(bytes, UInt16.self, 0x7F80): return (0, 0)
    case .f16 where !anyAllOnes(bytes, UInt16.self, 0x7C00): return (0, 0)
    case .f32 where !anyAllOnes(bytes, UInt32.self, 0x7F80_0000): return (0, 0)
    default: break
    }
    var nan = 0
    var inf = 0
    switch dtype {
    case .f32:
      for i in 0..<(bytes.count / 4) {
        let b = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
        if b & 0x7F80_0000 == 0x7F80_0000 {
          if b & 0x007F_FFFF == 0 { inf += 1 } else { nan += 1 }
        }
      }
    case .bf16, .f16:
      let (expMask, mantMask): (UInt16, UInt16) = dtype == .bf16 ? (0x7F80, 0x007F) : (0x7C00, 0x03FF)
      for i in 0..<(bytes.count / 2) {
        let b = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
        if b & expMask == expMask {
          if b & mantMask == 0 { inf += 1 } else { nan += 1 }
        }
      }
    case .f64:
      for i in 0..<(bytes.count / 8) {
        let d = Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)))
        if d.isNaN { nan += 1 } else if d.isInfinite { inf += 1 }
      }
    case .f8E4M3:
      for b in bytes where b & 0x7F == 0x7F { nan += 1 }
    default:
      break
    }
    return (nan, inf)
  }

  /// Whether any little-endian 16-bit element has all of `mask`'s bits set. Four elements
  /// per 64-bit word: `d = (w & mask) ^ mask` has a zero lane exactly there, and
  /// `(d - 0x0001…) & ~d & 0x8000…` is non-zero iff some lane of `d` is zero. The OR
  /// reduction is branch-free, so the compiler vectorizes it.
  private static func anyAllOnes(_ bytes: UnsafeRawBufferPointer, _: UInt16.Type, _ mask: UInt16) -> Bool {
    anyZeroLane(bytes, mask: UInt64(mask) &* 0x0001_0001_0001_0001, ones: 0x0001_0001_0001_0001, signs: 0x8000_8000_8000_8000)
      || tail(bytes, UInt16.self) { $0 & mask == mask }
  }

  /// The 32-bit twin of ``anyAllOnes(_:_:_:)``: two elements per word.
  private static func anyAllOnes(_ bytes: UnsafeRawBufferPointer, _: UInt32.Type, _ mask: UInt32) -> Bool {
    anyZeroLane(bytes, mask: UInt64(mask) &* 0x0000_0001_0000_0001, ones: 0x0000_0001_0000_0001, signs: 0x8000_0000_8000_0000)
      || tail(bytes, UInt32.self) { $0 & mask == mask }
  }

  /// Over the whole 64-bit words of `bytes` (little-endian lanes).
  @inline(__always)
  private static func anyZeroLane(_ bytes: UnsafeRawBufferPointer, mask: UInt64, ones: UInt64, signs: UInt64) -> Bool {
    var found: UInt64 = 0
    for i in 0..<(bytes.count / 8) {
      let d = (UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i &* 8, as: UInt64.self)) & mask) ^ mask
      found |= (d &- ones) & ~d & signs
    }
    return found != 0
  }

  /// The elements after the last whole 64-bit word.
  @inline(__always)
  private static func tail<T: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, _: T.Type, _ hit: (T) -> Bool) -> Bool {
    let width = MemoryLayout<T>.size
    var offset = bytes.count / 8 * 8
    while offset + width <= bytes.count {
      if hit(T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))) { return true }
      offset += width
    }
    return false
  }
}
