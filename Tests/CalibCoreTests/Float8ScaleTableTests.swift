import CalibKernels
import Testing

@testable import CalibCore

/// NVFP4's E4M3FN scale bytes of bf16 and f16 magnitudes, looked up
/// (`calib_half_float8_scales` with a table) where the table's build has checked them and
/// computed elsewhere, are the bytes the kernel computes for every magnitude
/// (`calib_bf16_magnitude_scales`, or `calib_symmetric_scales` of the widened f16 values),
/// at every output alignment, streamed or stored.
@Suite(.needsAVX2) struct Float8ScaleTableTests {
  /// Largest magnitudes as bf16 bits: a weight tensor's (0.106), 1, 448, bf16's largest
  /// finite value, small normals near the lookup's lower limit (2⁻¹²⁵, bits 0x0100) and
  /// below it (0x00FF, a subnormal).
  static let largests: [UInt16] = [0x3DD9, 0x3F80, 0x43E0, 0x7F7F, 0x0400, 0x0100, 0x00FF]

  /// The same for f16: 0.106, 1, 448, f16's largest finite value (65504), 2⁻¹¹, the
  /// lookup's lower limit (2⁻¹³, bits 0x0800), and below it (0x07FF, then a subnormal).
  static let float16Largests: [UInt16] = [0x2EC9, 0x3C00, 0x5F00, 0x7BFF, 0x1000, 0x0800, 0x07FF, 0x03FF]

  /// Each format with its largest magnitudes.
  static let cases: [(HalfFormat, UInt16)] =
    largests.map { (.bfloat16, $0) } + float16Largests.map { (.float16, $0) }

  static func dtype(_ format: HalfFormat) -> FloatDType { format == .float16 ? .float16 : .bfloat16 }

  /// The NVFP4 preset's kernel parameters on `format` under `globalScale`, streaming or not.
  static func parameters(_ format: HalfFormat, globalScale: Float, streams: Bool) throws -> calib_symmetric_scale_params {
    let kernel = try QParamVectorPathTests.nvfp4Preset.parameterKernel(globalScale: globalScale, dtype: dtype(format))
    var p = try #require(kernel.wideScaleParameters(outputs: 1))
    p.streams = streams ? 1 : 0
    return p
  }

  /// Every magnitude from 0 to `largest`, in order and then shuffled, looked up into each of
  /// four start alignments with guard bytes around, against the computed bytes.
  static func expectLookedUpBytes(
    _ format: HalfFormat, largest: UInt16, globalScale: Float, table: calib_float8_scale_table?,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    var generator = HistogramCountingTests.SplitMix(state: UInt64(largest))
    let ordered = (0...largest).map { $0 }
    // Whole sixteens, as the kernels take them, and runs of 64 cut at odd places.
    let count = ordered.count / 16 * 16
    guard count > 0 else { return }
    for magnitudes in [Array(ordered.prefix(count)), Array(ordered.shuffled(using: &generator).prefix(count))] {
      for streams in [false, true] {
        var p = try parameters(format, globalScale: globalScale, streams: streams)
        var computed = [UInt8](repeating: 0xA5, count: count + 8)
        if format == .float16 {
          let widened = magnitudes.map(format.float)
          calib_symmetric_scales(Int32(WideKernels.width), widened, widened, count, &p, nil, &computed[4])
        } else {
          calib_bf16_magnitude_scales(Int32(WideKernels.width), magnitudes, count, &p, nil, &computed[4])
        }
        for offset in 0..<4 {
          var found = [UInt8](repeating: 0xA5, count: count + 8)
          found.withUnsafeMutableBufferPointer { out in
            if var table {
              calib_half_float8_scales(Int32(WideKernels.width), magnitudes, count, &p, &table, out.baseAddress! + offset)
            } else {
              calib_half_float8_scales(Int32(WideKernels.width), magnitudes, count, &p, nil, out.baseAddress! + offset)
            }
          }
          #expect(found[..<offset].allSatisfy { $0 == 0xA5 }, sourceLocation: sourceLocation)
          #expect(found[(offset + count)...].allSatisfy { $0 == 0xA5 }, sourceLocation: sourceLocation)
          let mismatch = (0..<count).first { found[offset + $0] != computed[4 + $0] }
          #expect(
            mismatch == nil, "\(format) largest \(largest), global scale \(globalScale), offset \(offset), streams \(streams): magnitude \(mismatch.map { magnitudes[$0] } as Any)",
            sourceLocation: sourceLocation)
        }
      }
    }
  }

  /// Under the global scale NVFP4 derives from the largest magnitude, the table is built
  /// wherever the CPU has the lookup and that global scale is finite (the largest magnitude
  /// at least about 2⁻¹¹⁷; below that, every scale clamps to 448 or is NaN), and it covers
  /// the largest magnitude and the 14 binades below it, where E4M3FN's scales are normal;
  /// for f16 as far down as 2⁻¹¹ if that is nearer, below which the quotient by 6 is an
  /// f16 subnormal and doubling no longer doubles it.
  @Test(arguments: cases)
  func nvfp4GlobalScaleLooksUpWhatItComputes(format: HalfFormat, largest: UInt16) throws {
    let globalScale = GlobalScale.generate(magnitude: format.float(largest), dtype: Self.dtype(format))
    var p = try Self.parameters(format, globalScale: globalScale, streams: false)
    var table = calib_float8_scale_table()
    let built = calib_float8_scale_table_build(&p, largest, &table) != 0
    let (mantissa, smallest, floor) = format == .float16 ? (10, 0x0800, 4) : (7, 0x0100, 0)
    let wanted = calib_float8_scale_lookup_available() != 0 && globalScale.isFinite && Int(largest) >= smallest
    #expect(built == wanted, "\(format) \(largest)")
    if built {
      #expect(table.highest == largest)
      let lowestBinade = Int(table.lowest >> mantissa)
      #expect(lowestBinade <= max(floor, Int(largest >> mantissa) - 14), "\(format) \(largest): \(table.lowest)")
    }
    try Self.expectLookedUpBytes(format, largest: largest, globalScale: globalScale, table: built ? table : nil)
  }

  /// Other global scales, including ones that clamp the largest scales to 448 and one that
  /// takes the smallest to float32's subnormals: whatever the table covers (perhaps
  /// nothing), the bytes are the computed ones. A table whose build failed covers nothing,
  /// so it is harmless to pass.
  @Test(arguments: cases, [Float(5.123), 3e38, 1e-30])
  func anyGlobalScaleLooksUpWhatItComputes(formatAndLargest: (HalfFormat, UInt16), globalScale: Float) throws {
    let (format, largest) = formatAndLargest
    var p = try Self.parameters(format, globalScale: globalScale, streams: false)
    var table = calib_float8_scale_table()
    if calib_float8_scale_table_build(&p, largest, &table) == 0 {
      #expect(table.lowest > table.highest)
    }
    try Self.expectLookedUpBytes(format, largest: largest, globalScale: globalScale, table: table)
  }

  /// A bf16 or f16 weight whose groups' magnitudes mostly lie within the table's range,
  /// with some all-zero groups and some tiny ones outside it: the NVFP4 preset's observer
  /// gives the range path's parameters, bit for bit, whether the lookup or the kernel made
  /// each byte.
  @Test(arguments: [FloatDType.bfloat16, .float16], [true, false])
  func observerScalesMatchTheRangePath(dtype: FloatDType, parallel: Bool) throws {
    var generator = HistogramCountingTests.SplitMix(state: 9)
    // 33,410 groups: three work items, streamed scales, a tail of two groups.
    let shape = [130, 4112]
    // Tiny: below the table's range, f16 subnormals for f16.
    let tiny: Float = dtype == .float16 ? 0x1p-20 : 0x1p-40
    let values: [Float] = (0..<(shape[0] * shape[1])).map { i in
      let group = i / 16
      if group % 97 == 5 { return 0 }
      let scale: Float = group % 89 == 7 ? tiny : 0.02
      return scale * Float.random(in: -4...4, using: &generator)
    }
    let value = FusedParametersTests.tensor(shape, values, dtype)
    let args = QParamVectorPathTests.nvfp4Preset
    let (global, separate) = try GroupMagnitudesTests.expected(value, args)
    var observer = try Observer(kind: .memorylessMinMax, baseName: .weight, args: args)
    observer.runsInParallel = parallel
    let g = try #require(try observer.observeGlobalScale(value))
    #expect(g.bitPattern == global.bitPattern)
    let p = try #require(try observer.observe(value, globalScale: g))
    expectSameParameters(p, separate)
    #expect(p.scale.float8E4M3Bits != nil)
  }
}
