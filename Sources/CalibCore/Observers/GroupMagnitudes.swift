import CalibKernels

/// The largest magnitude, `max |x|`, of each of a tensor's groups of sixteen contiguous
/// values (NVFP4's tensor groups), held in the values' own width: everything a symmetric
/// memoryless min/max observer needs from the tensor.
///
/// Symmetric `calculate_qparams` takes `max(|min(lo, 0)|, |max(hi, 0)|)` of a group's
/// range (lo, hi), which is exactly the group's largest magnitude (abs and max are exact),
/// and `generate_gparam` the same of the whole tensor's range, which is the largest of
/// them. So NVFP4's global pass keeps 2 bytes per group (bf16) or 4 (float32) for the
/// local pass, instead of a float32 minimum and maximum, and the local pass reads those.
struct GroupMagnitudes: Sendable {
  enum Values: Sendable {
    case float32([Float])
    /// The magnitudes' bits, for a tensor of bf16 or f16 bits.
    case halfBits([UInt16], HalfFormat)
  }

  let layout: GroupLayout
  let values: Values
  /// The largest magnitude of all groups; finite.
  let largest: Float

  /// Groups per work item: 256K values, as the range reductions' items.
  private static let groupsPerItem = 1 << 14

  /// The magnitudes of `value`'s groups under `layout`.
  ///
  /// `nil` where this does not apply, and the range passes are used instead: layouts other
  /// than contiguous groups of sixteen in order, machines without AVX2 (`width` below 8),
  /// and tensors holding a NaN or an infinity, whose culprits those passes report. AVX-512
  /// (`width` 16) and AVX2 (8) kernels give the same magnitudes.
  init?(_ value: Tensor, layout: GroupLayout, parallel: Bool, width: Int = WideKernels.width) {
    let count = layout.count
    guard width >= 8, layout.isContiguousRuns(of: 16), count > 0, value.elementCount == 16 * count else {
      return nil
    }
    let items = (count + Self.groupsPerItem - 1) / Self.groupsPerItem
    var largest = [Float](repeating: 0, count: items)
    var finite = [Bool](repeating: true, count: items)
    let values: Values
    // Around the cache from the scales' threshold on (the whole count decides).
    let streams: Int32 = count >= QParamKernel.streamedOutputs ? 1 : 0
    if let (bits, format) = value.halfBits {
      // Magnitudes order as the integers `bits & 0x7FFF` in either format.
      let magnitudes = Self.reduced(
        bits, count: count, largest: &largest, finite: &finite, parallel: parallel, widened: format.float
      ) { source, out, groups, top in
        calib_bf16_group_magnitudes16(Int32(width), source, groups, out, top, streams)
      }
      values = .halfBits(magnitudes, format)
    } else {
      values = .float32(Self.reduced(value.values, count: count, largest: &largest, finite: &finite, parallel: parallel, widened: { $0 }) {
        source, out, groups, top in
        calib_group_magnitudes16(Int32(width), source, groups, out, top, streams)
      })
    }
    guard !finite.contains(false) else { return nil }
    self.layout = layout
    self.values = values
    self.largest = largest.max()!  // items ≥ 1
  }

  /// Each group's magnitude of `source` (float32 values or bf16/f16 bits, whose magnitudes
  /// order as the integers `bits & mask`), sixteen groups at a time by `kernel` and the
  /// rest one by one, with each work item's largest (as `widened` gives its value) and
  /// whether it was finite.
  private static func reduced<Value: MagnitudeBits>(
    _ source: [Value], count: Int, largest: inout [Float], finite: inout [Bool], parallel: Bool,
    widened: @escaping @Sendable (Value) -> Float,
    kernel: @escaping @Sendable (UnsafePointer<Value>, UnsafeMutablePointer<Value>, Int, UnsafeMutablePointer<Value>) -> Int32
  ) -> [Value] {
    let perItem = groupsPerItem
    return [Value](unsafeUninitializedCapacity: count) { out, initialized in
      source.withUnsafeBufferPointer { input in
        largest.withUnsafeMutableBufferPointer { tops in
          finite.withUnsafeMutableBufferPointer { flags in
            // Non-nil: count > 0.
            let (x, o) = (SharedPointer(input.baseAddress!), SharedPointer(out.baseAddress!))
            let (t, f) = (SharedPointer(tops.baseAddress!), SharedPointer(flags.baseAddress!))
            ForkJoin.forEach(tops.count, parallel: parallel) { item in
              let first = item * perItem
              let groups = Swift.min(count, first + perItem) - first
              let wide = groups & ~15
              var top = Value.zero
              var ok = true
              if wide > 0 { ok = kernel(x.readOnly + 16 * first, o.base + first, wide, &top) != 0 }
              var topBits = top.magnitudeBits
              for g in (first + wide)..<(first + groups) {
                var m: Value.Bits = 0
                for i in 0..<16 { m = Swift.max(m, x[16 * g + i].magnitudeBits) }
                o[g] = Value(magnitudeBits: m)
                topBits = Swift.max(topBits, m)
              }
              let largest = widened(Value(magnitudeBits: topBits))
              t[item] = largest
              f[item] = ok && largest.isFinite
            }
          }
        }
      }
      initialized = count
    }
  }

  /// The symmetric scales and zero points of the groups: `kernel.parameters` with each
  /// magnitude m as both minimum and maximum (`min(m, 0)` is 0 and `max(m, 0)` is m).
  ///
  /// - Precondition: `kernel` is symmetric.
  func parameters(_ kernel: QParamKernel, parallel: Bool, width: Int = WideKernels.width) -> (scales: [Float], zeros: [Float]) {
    precondition(kernel.symmetric, "magnitudes give symmetric parameters only")
    let count = layout.count
    let perItem = Self.groupsPerItem
    return QuantizationArgs.filledScalesAndZeros(count: count) { scales, zeros in
      switch values {
      case .float32(let magnitudes):
        magnitudes.withUnsafeBufferPointer { m in
          let p = SharedPointer(m.baseAddress!)  // count > 0
          ForkJoin.forEach((count + perItem - 1) / perItem, parallel: parallel) { item in
            let range = (item * perItem)..<Swift.min(count, (item + 1) * perItem)
            kernel.parameters(
              mins: p.readOnly, maxs: p.readOnly, range, scales: scales.base, zeros: zeros.base, outputs: count,
              width: width)
          }
        }
      case .halfBits(let bits, let format):
        bits.withUnsafeBufferPointer { m in
          let p = SharedPointer(m.baseAddress!)  // count > 0
          // The C kernels widen bf16 bits only.
          let wideParameters = format == .bfloat16 && width >= 8 ? kernel.wideScaleParameters(outputs: count) : nil
          ForkJoin.forEach((count + perItem - 1) / perItem, parallel: parallel) { item in
            var first = item * perItem
            let end = Swift.min(count, (item + 1) * perItem)
            if var wide = wideParameters {
              let n = (end - first) & ~15
              calib_bf16_magnitude_scales(Int32(width), p.readOnly + first, n, &wide, scales.base + first, zeros.base + first)
              first += n
            }
            // The rest (and scales the C kernel does not make) widened a block at a time into
            // a buffer that stays in L1.
            let block = 1024
            withUnsafeTemporaryAllocation(of: Float.self, capacity: block) { wide in
              while first < end {
                let n = Swift.min(block, end - first)
                // Non-nil: block > 0.
                format.widen(p.readOnly + first, n, into: wide.baseAddress!, width: width)
                let w = wide.baseAddress! - first
                kernel.parameters(
                  mins: w, maxs: w, first..<(first + n), scales: scales.base, zeros: zeros.base, outputs: count,
                  width: width)
                first += n
              }
            }
          }
        }
      }
    }
  }
}

/// A value whose magnitude is its bits with the sign cleared, ordered as those integers
/// for non-negative values (NaNs above ∞): float32 values and bf16 or f16 bits.
protocol MagnitudeBits: Sendable {
  associatedtype Bits: FixedWidthInteger
  static var zero: Self { get }
  var magnitudeBits: Bits { get }
  init(magnitudeBits: Bits)
}

extension Float: MagnitudeBits {
  var magnitudeBits: UInt32 { bitPattern & 0x7FFF_FFFF }
  init(magnitudeBits: UInt32) { self.init(bitPattern: magnitudeBits) }
}

extension UInt16: MagnitudeBits {
  var magnitudeBits: UInt16 { self & 0x7FFF }
  init(magnitudeBits: UInt16) { self = magnitudeBits }
}
