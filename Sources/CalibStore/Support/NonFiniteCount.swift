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

  /// Whether any little-endian 16-bit element has all of `mask`'s bits set. A branch-free
  /// integer loop, which the compiler vectorizes.
  private static func anyAllOnes(_ bytes: UnsafeRawBufferPointer, _: UInt16.Type, _ mask: UInt16) -> Bool {
    var hit: UInt16 = 0
    for i in 0..<(bytes.count / 2) {
      let x = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
      hit |= (x & mask) ^ mask == 0 ? 1 : 0
    }
    return hit != 0
  }

  /// The 32-bit twin of ``anyAllOnes(_:_:_:)``.
  private static func anyAllOnes(_ bytes: UnsafeRawBufferPointer, _: UInt32.Type, _ mask: UInt32) -> Bool {
    var hit: UInt32 = 0
    for i in 0..<(bytes.count / 4) {
      let x = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
      hit |= (x & mask) ^ mask == 0 ? 1 : 0
    }
    return hit != 0
  }
}
