import Synchronization

extension Tensor {
  /// How a tensor holds its values: float32, or a compact form decoded on first use
  /// (``DeferredValues``: the raw bits of bf16 or f16 values, FP8 bytes, one repeated
  /// value); each with the parameter ranges kept for them (shared by copies, replaced
  /// with the values).
  enum Storage: Sendable {
    case float32([Float], KeptRanges)
    case deferred(DeferredValues)

    /// float32 values with nothing kept.
    static func float32(_ values: [Float]) -> Storage { .float32(values, KeptRanges()) }

    var count: Int {
      switch self {
      case .float32(let values, _): values.count
      case .deferred(let payload): payload.count
      }
    }

    /// The values as float32 (decoded once for compact forms).
    var floats: [Float] {
      switch self {
      case .float32(let values, _): values
      case .deferred(let payload): payload.floats
      }
    }

    var kept: KeptRanges {
      switch self {
      case .float32(_, let kept): kept
      case .deferred(let payload): payload.kept
      }
    }
  }
}

/// Values held in a form smaller than float32 and decoded on first use, once for every
/// copy of the tensor (whoever asks first): bf16 or f16 values as their raw bits (half
/// the float32 bytes), scales that are E4M3FN values as their bytes (a quarter), or one
/// value repeated (a symmetric scheme's zero points, none of which is ever written unless
/// someone reads them).
final class DeferredValues: Sendable {
  enum Source: Sendable {
    /// bf16 or f16 bits, widened exactly (``HalfFormat/float(_:)``).
    case half([UInt16], HalfFormat)
    /// E4M3FN bits, decoded exactly (``Float8E4M3/decode(_:)``).
    case float8E4M3([UInt8])
    case repeated(Float, count: Int)
  }

  let source: Source
  private let decoded = Mutex<[Float]?>(nil)
  let kept = KeptRanges()

  init(_ source: Source) {
    self.source = source
  }

  var count: Int {
    switch source {
    case .half(let bits, _): bits.count
    case .float8E4M3(let bytes): bytes.count
    case .repeated(_, let count): count
    }
  }

  var floats: [Float] {
    decoded.withLock { cache in
      if let cache { return cache }
      let floats: [Float]
      switch source {
      case .half(let bits, let format):
        floats = bits.withUnsafeBufferPointer { source in
          [Float](unsafeUninitializedCapacity: source.count) { out, initialized in
            if let base = source.baseAddress, let target = out.baseAddress {
              format.widen(base, source.count, into: target)
            }
            initialized = source.count
          }
        }
      case .float8E4M3(let bytes):
        let table = Float8E4M3.decodingTable
        floats = bytes.map { table[Int($0)] }
      case .repeated(let value, let count):
        floats = [Float](repeating: value, count: count)
      }
      cache = floats
      return floats
    }
  }
}

/// Per-parameter ranges under one layout, or the groups' magnitudes that stand for them
/// under a symmetric memoryless observer, kept for the next pass that asks (NVFP4's local
/// pass, after its global pass computed them) and forgotten once taken.
final class KeptRanges: Sendable {
  let ranges = Mutex<ParameterRanges?>(nil)
  let magnitudes = Mutex<GroupMagnitudes?>(nil)
}

/// The minima and maxima of a tensor's parameters under a layout.
struct ParameterRanges: Sendable {
  let layout: GroupLayout
  let mins: [Float]
  let maxs: [Float]
}

extension Tensor {
  /// The parameter ranges kept for `layout`, handed over once: they are forgotten as they
  /// are taken, so nothing outlives the pass they were kept for.
  func takeKeptRanges(for layout: GroupLayout) -> ([Float], [Float])? {
    storage.kept.ranges.withLock { kept in
      guard let ranges = kept, ranges.layout == layout else { return nil }
      kept = nil
      return (ranges.mins, ranges.maxs)
    }
  }

  /// Keeps parameter ranges for a later ``takeKeptRanges(for:)``. The ranges must be
  /// those of this tensor's values under `layout`; changing the values forgets them.
  func keep(_ ranges: ([Float], [Float]), for layout: GroupLayout) {
    storage.kept.ranges.withLock { $0 = ParameterRanges(layout: layout, mins: ranges.0, maxs: ranges.1) }
  }

  /// The group magnitudes kept for `layout`, handed over once as ``takeKeptRanges(for:)``.
  func takeKeptMagnitudes(for layout: GroupLayout) -> GroupMagnitudes? {
    storage.kept.magnitudes.withLock { kept in
      guard let magnitudes = kept, magnitudes.layout == layout else { return nil }
      kept = nil
      return magnitudes
    }
  }

  /// Keeps this tensor's group magnitudes for a later ``takeKeptMagnitudes(for:)``.
  func keep(_ magnitudes: GroupMagnitudes) {
    storage.kept.magnitudes.withLock { $0 = magnitudes }
  }
}
