import Synchronization

extension Tensor {
  /// How a tensor holds its values: float32, or the raw bits of bf16 values.
  enum Storage: Sendable {
    case float32([Float])
    case bfloat16(BFloat16Values)

    var count: Int {
      switch self {
      case .float32(let values): values.count
      case .bfloat16(let payload): payload.bits.count
      }
    }

    /// The values as float32 (decoded once for bf16 bits).
    var floats: [Float] {
      switch self {
      case .float32(let values): values
      case .bfloat16(let payload): payload.floats
      }
    }
  }
}

/// Raw bf16 bits and, once someone asks, their float32 decoding: shared by every copy of
/// a tensor, so the decoding happens at most once whoever asks first.
final class BFloat16Values: Sendable {
  let bits: [UInt16]
  private let decoded = Mutex<[Float]?>(nil)

  init(_ bits: [UInt16]) {
    self.bits = bits
  }

  /// The bits widened to float32: `Float(bitPattern: UInt32(bits) << 16)`, exact.
  var floats: [Float] {
    decoded.withLock { cache in
      if let cache { return cache }
      let floats = bits.withUnsafeBufferPointer { source in
        [Float](unsafeUninitializedCapacity: source.count) { out, initialized in
          for i in 0..<source.count { out[i] = Float(bitPattern: UInt32(source[i]) &<< 16) }
          initialized = source.count
        }
      }
      cache = floats
      return floats
    }
  }
}
