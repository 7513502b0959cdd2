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

  /// The symmetric parameters of the groups under `args`: `kernel.parameters` with each
  /// magnitude m as both minimum and maximum (`min(m, 0)` is 0 and `max(m, 0)` is m).
  ///
  /// The zero points are all 0 and held as one repeated value. Scales that the kernel
  /// rounds to E4M3FN (NVFP4's) are held as their bytes, decoded exactly when read: with
  /// finite magnitudes, every such scale is an E4M3FN value unless the global scale is
  /// NaN, which keeps float32 scales.
  ///
  /// - Precondition: `kernel` is symmetric.
  func parameters(
    _ args: QuantizationArgs, _ kernel: QParamKernel, parallel: Bool, width: Int = WideKernels.width
  ) -> QuantizationParameters {
    precondition(kernel.symmetric, "magnitudes give symmetric parameters only")
    let count = layout.count
    if kernel.scaleDType == .float8E4M3FN, kernel.globalScale?.isNaN != true {
      let bytes = [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
        if let base = out.baseAddress { writeScales(kernel, parallel: parallel, width: width, to: .float8(SharedPointer(base))) }
        initialized = count
      }
      return args.parameters(shape: layout.qparamShape, float8Scales: bytes, kernel)
    }
    let (scales, _) = QuantizationArgs.filledScalesAndZeros(count: count, symmetric: true) { out, _ in
      writeScales(kernel, parallel: parallel, width: width, to: .float32(out))
    }
    return args.parameters(shape: layout.qparamShape, scales: scales, zeros: nil, kernel)
  }

  /// Where ``writeScales(_:parallel:width:to:)`` puts the scales: float32 values, or the
  /// E4M3FN bytes of scales the kernel rounds to that format.
  private enum ScaleOutput {
    case float32(SharedPointer<Float>)
    case float8(SharedPointer<UInt8>)
  }

  /// Every group's scale into `output`, a work item at a time: the C kernels take sixteen
  /// groups at a time (bf16 magnitudes, widened in the kernel, or float32 ones, or f16
  /// ones widened a block at a time into a buffer that stays in L1), and the Swift lanes
  /// the rest. E4M3FN bytes of bf16 or f16 magnitudes are mostly looked up, in a table
  /// built once for the tensor and checked against the kernel magnitude by magnitude
  /// (`calib_float8_scale_table_build`): a table read or two for about 25 vector
  /// operations.
  private func writeScales(_ kernel: QParamKernel, parallel: Bool, width: Int, to output: ScaleOutput) {
    let count = layout.count
    let perItem = Self.groupsPerItem
    let block = 1024
    let (floatOut, byteOut): (SharedPointer<Float>?, SharedPointer<UInt8>?) =
      switch output {
      case .float32(let p): (p, nil)
      case .float8(let p): (nil, p)
      }
    withMagnitudes { floats, halves, format in
      let wideParameters = width >= 8 ? kernel.wideScaleParameters(outputs: count) : nil
      // Half magnitudes' E4M3FN scale bytes are mostly looked up (calib_half_float8_scales).
      let table: calib_float8_scale_table? = {
        guard var wide = wideParameters, halves != nil, let format, byteOut != nil else { return nil }
        var table = calib_float8_scale_table()
        return calib_float8_scale_table_build(&wide, format.bits(ofExact: largest), &table) != 0 ? table : nil
      }()
      ForkJoin.forEach((count + perItem - 1) / perItem, parallel: parallel) { item in
        var first = item * perItem
        let end = Swift.min(count, first + perItem)
        // The C kernels widen bf16 bits, and f16 ones into E4M3FN bytes with AVX-512: other
        // f16 ones are widened below.
        if var wide = wideParameters, format != .float16 || (byteOut != nil && width == 16) {
          let n = (end - first) & ~15
          let (scales, bytes) = (floatOut.map { $0.base + first }, byteOut.map { $0.base + first })
          if let floats {
            calib_symmetric_scales(Int32(width), floats.readOnly + first, floats.readOnly + first, n, &wide, scales, bytes)
          } else if let halves, let bytes {
            if var table {
              calib_half_float8_scales(Int32(width), halves.readOnly + first, n, &wide, &table, bytes)
            } else {
              calib_half_float8_scales(Int32(width), halves.readOnly + first, n, &wide, nil, bytes)
            }
          } else if let halves {
            calib_bf16_magnitude_scales(Int32(width), halves.readOnly + first, n, &wide, scales, nil)
          }
          first += n
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * block) { buffer in
          // Non-nil: block > 0. Both pointers are indexed as the groups are, from `first`.
          let (widened, scaled) = (buffer.baseAddress!, buffer.baseAddress! + block)
          while first < end {
            let n = Swift.min(block, end - first)
            var magnitudes = floats?.readOnly
            if let halves, let format {
              format.widen(halves.readOnly + first, n, into: widened, width: width)
              magnitudes = UnsafePointer(widened - first)
            }
            // Non-nil: one of `floats` and `halves` is.
            if let floatOut {
              // The C kernel for whole sixteens, whatever the dtype, and the lanes for the rest.
              kernel.parameters(
                mins: magnitudes!, maxs: magnitudes!, first..<(first + n), scales: floatOut.base, zeros: nil,
                outputs: count, width: width)
            } else if let byteOut {
              // `parameters` writes float32 scales only: the C kernel writes the bytes of
              // whole sixteens (f16 magnitudes without AVX-512 come here for all of theirs), and the lanes
              // and an encode the rest.
              var done = 0
              if var wide = wideParameters, n >= 16 {
                done = n & ~15
                calib_symmetric_scales(
                  Int32(width), magnitudes! + first, magnitudes! + first, done, &wide, nil, byteOut.base + first)
              }
              if done < n {
                kernel.parameters(
                  mins: magnitudes!, maxs: magnitudes!, (first + done)..<(first + n), scales: scaled - first, zeros: nil,
                  outputs: count, width: width)
                for i in done..<n { byteOut[first + i] = Float8E4M3.encode(scaled[i]) }
              }
            }
            first += n
          }
        }
      }
    }
  }

  /// The magnitudes' base address: float32 values, or half bits and their format.
  private func withMagnitudes<R>(
    _ body: (SharedPointer<Float>?, SharedPointer<UInt16>?, HalfFormat?) -> R
  ) -> R {
    switch values {
    case .float32(let magnitudes):
      // Non-nil: a layout of at least one group.
      magnitudes.withUnsafeBufferPointer { body(SharedPointer($0.baseAddress!), nil, nil) }
    case .halfBits(let bits, let format):
      bits.withUnsafeBufferPointer { body(nil, SharedPointer($0.baseAddress!), format) }
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
