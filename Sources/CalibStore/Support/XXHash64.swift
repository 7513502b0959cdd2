/// xxHash64 (seed 0), the checksum stored with every sample. Fast enough to run at memory
/// speed while recording, and streaming so large samples need not be held whole.
public struct XXHash64: Sendable {
  private static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
  private static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
  private static let p3: UInt64 = 0x1656_67B1_9E37_79F9
  private static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63
  private static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

  private var v1 = p1 &+ p2
  private var v2 = p2
  private var v3: UInt64 = 0
  private var v4 = 0 &- p1
  private var total: UInt64 = 0
  private var buffer = [UInt8]()

  public init() { buffer.reserveCapacity(32) }

  /// The hash of a whole buffer, as 16 lowercase hex digits.
  public static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
    var h = XXHash64()
    h.update(bytes)
    return h.hexDigest
  }

  @inline(__always)
  private static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
    ((acc &+ input &* p2).rotatedLeft(31)) &* p1
  }

  @inline(__always)
  private static func merge(_ acc: UInt64, _ v: UInt64) -> UInt64 {
    (acc ^ round(0, v)) &* p1 &+ p4
  }

  /// Feeds more bytes.
  public mutating func update(_ bytes: UnsafeRawBufferPointer) {
    total &+= UInt64(bytes.count)
    var offset = 0
    if !buffer.isEmpty {
      let take = Swift.min(32 - buffer.count, bytes.count)
      buffer.append(contentsOf: bytes[0..<take])
      offset = take
      if buffer.count == 32 {
        buffer.withUnsafeBytes { consumeStripe($0, 0) }
        buffer.removeAll(keepingCapacity: true)
      }
    }
    while offset + 32 <= bytes.count {
      consumeStripe(bytes, offset)
      offset += 32
    }
    if offset < bytes.count { buffer.append(contentsOf: bytes[offset...]) }
  }

  @inline(__always)
  private mutating func consumeStripe(_ p: UnsafeRawBufferPointer, _ o: Int) {
    v1 = Self.round(v1, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: o, as: UInt64.self)))
    v2 = Self.round(v2, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: o + 8, as: UInt64.self)))
    v3 = Self.round(v3, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: o + 16, as: UInt64.self)))
    v4 = Self.round(v4, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: o + 24, as: UInt64.self)))
  }

  /// The digest of everything fed so far.
  public var digest: UInt64 {
    var h: UInt64
    if total >= 32 {
      h = v1.rotatedLeft(1) &+ v2.rotatedLeft(7) &+ v3.rotatedLeft(12) &+ v4.rotatedLeft(18)
      h = Self.merge(h, v1)
      h = Self.merge(h, v2)
      h = Self.merge(h, v3)
      h = Self.merge(h, v4)
    } else {
      h = v3 &+ Self.p5  // seed + p5, seed 0
    }
    h &+= total
    buffer.withUnsafeBytes { p in
      var i = 0
      while i + 8 <= p.count {
        let k = Self.round(0, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
        h = (h ^ k).rotatedLeft(27) &* Self.p1 &+ Self.p4
        i += 8
      }
      if i + 4 <= p.count {
        let k = UInt64(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt32.self)))
        h = (h ^ (k &* Self.p1)).rotatedLeft(23) &* Self.p2 &+ Self.p3
        i += 4
      }
      while i < p.count {
        h = (h ^ (UInt64(p[i]) &* Self.p5)).rotatedLeft(11) &* Self.p1
        i += 1
      }
    }
    h ^= h >> 33
    h &*= Self.p2
    h ^= h >> 29
    h &*= Self.p3
    h ^= h >> 32
    return h
  }

  /// ``digest`` as 16 lowercase hex digits.
  public var hexDigest: String {
    let s = String(digest, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
  }
}

extension UInt64 {
  @inline(__always)
  fileprivate func rotatedLeft(_ n: UInt64) -> UInt64 { (self << n) | (self >> (64 - n)) }
}
