import CalibKernels
import Testing

@testable import CalibCore

/// A memoryless min/max observer on NVFP4's groups works from each group's largest
/// magnitude (`GroupMagnitudes`) instead of its range: the same global scale and the same
/// local scales, bit for bit, and the same error for a value that is not finite.
@Suite struct GroupMagnitudesTests {
  static let nvfp4 = try! QuantizationArgs(numBits: 4, type: .float, groupSize: 16, strategy: .tensorGroup)
  /// The NVFP4 preset's weights: the same with FP8 scales.
  static let nvfp4Preset = QParamVectorPathTests.nvfp4Preset

  /// One item with a tail (9 and 34 groups), two items whose second ends in a tail of four
  /// groups (65 · 260 = 16,900 groups, 16,384 per item), and three items whose scales are
  /// streamed (130 · 257 = 33,410 groups, from 32K), the last ending in a tail of two.
  static let shapes: [[Int]] = [[3, 48], [17, 32], [65, 4160], [130, 4112]]

  /// Values spread over many binades, with whole groups of zeros, of negatives only and of
  /// positives only, signed zeros and subnormals among them.
  static func values(count: Int, seed: UInt64) -> [Float] {
    var state = seed
    return (0..<count).map { i in
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      let group = i / 16
      if group % 11 == 3 { return i % 2 == 0 ? 0 : -0.0 }
      // Binades 2^-30 … 2^8: f16's subnormals up to well inside its range.
      let magnitude = Float(
        sign: .plus, exponent: Int(state >> 33 & 31) + Int(state >> 38 & 7) - 30,
        significand: 1 + Float(state >> 44 & 0x3FF) / 1024)
      if group % 7 == 2 { return -magnitude }
      if group % 13 == 5 { return magnitude }
      if group % 17 == 1 && i % 3 == 0 { return .leastNonzeroMagnitude }
      return state >> 63 == 0 ? magnitude : -magnitude
    }
  }

  /// The range path's answers: the whole value's range for the global scale, the groups'
  /// ranges for the local scales.
  static func expected(_ value: Tensor, _ args: QuantizationArgs = nvfp4) throws -> (global: Float, parameters: QuantizationParameters) {
    // The decoded values: the range passes on float32, whatever the tensor holds.
    let value = Tensor(shape: value.shape, values: value.values, dtype: value.dtype)
    var whole = args
    whole.strategy = .tensor
    let (gmn, gmx) = RangeReduction.minMax(value, layout: try GroupLayout(shape: [value.elementCount], baseName: .input, args: whole))
    let global = GlobalScale.generate(min: gmn[0], max: gmx[0], dtype: value.dtype)
    let layout = try GroupLayout(shape: value.shape, baseName: .weight, args: args)
    let (mn, mx) = RangeReduction.minMax(value, layout: layout)
    let parameters = try args.quantizationParameters(
      min: Tensor(shape: layout.qparamShape, values: mn, dtype: value.dtype),
      max: Tensor(shape: layout.qparamShape, values: mx, dtype: value.dtype), globalScale: global)
    return (global, parameters)
  }

  @Test(arguments: [FloatDType.float32, .bfloat16, .float16], [true, false])
  func magnitudesGiveTheRangesParameters(dtype: FloatDType, parallel: Bool) throws {
    for (k, shape) in Self.shapes.enumerated() {
      let raw = Self.values(count: shape[0] * shape[1], seed: UInt64(k + 5))
      let value = FusedParametersTests.tensor(shape, raw.map(dtype.rounded), dtype)
      let layout = try GroupLayout(shape: shape, baseName: .weight, args: Self.nvfp4)
      #expect(GroupMagnitudes(value, layout: layout, parallel: parallel) != nil, "\(shape) \(dtype)")
      for args in [Self.nvfp4, Self.nvfp4Preset] {
        let (global, separate) = try Self.expected(value, args)
        var observer = try Observer(kind: .memorylessMinMax, baseName: .weight, args: args)
        observer.runsInParallel = parallel
        let g = try #require(try observer.observeGlobalScale(value))
        #expect(g.bitPattern == global.bitPattern, "\(shape) \(dtype)")
        // From the kept magnitudes, then from magnitudes computed in the local pass.
        for _ in 0..<2 {
          let p = try #require(try observer.observe(value, globalScale: g))
          expectSameParameters(p, separate, "\(shape) \(dtype) \(args.scaleDType as Any)")
          // FP8 scales held as their bytes, float32 ones as they are.
          #expect((p.scale.float8E4M3Bits != nil) == (args.scaleDType == .float8E4M3FN), "\(shape) \(dtype)")
        }
      }
    }
  }

  @Test(arguments: [FloatDType.float32, .bfloat16, .float16])
  func aNonFiniteValueThrowsFromEitherPass(dtype: FloatDType) throws {
    let shape = Self.shapes[2]
    let clean = Self.values(count: shape[0] * shape[1], seed: 3).map(dtype.rounded)
    // The first element, one in the second work item's tail, and the last.
    for (position, poison) in [(0, Float.nan), (16_899 * 16 + 5, .infinity), (clean.count - 1, -.infinity)] {
      var values = clean
      values[position] = poison
      let value = FusedParametersTests.tensor(shape, values, dtype)
      let layout = try GroupLayout(shape: shape, baseName: .weight, args: Self.nvfp4)
      #expect(GroupMagnitudes(value, layout: layout, parallel: true) == nil)
      var observer = try Observer(kind: .memorylessMinMax, baseName: .weight, args: Self.nvfp4)
      #expect(throws: ObserverError.nonFinite(count: 1, firstIndex: position, shape: shape)) {
        try observer.observe(value, globalScale: 1)
      }
    }
  }

  @Test func otherObserversAndArgumentsKeepTheRanges() throws {
    #expect(try Observer(kind: .memorylessMinMax, baseName: .weight, args: Self.nvfp4).reducesToMagnitudes)
    #expect(try !Observer(kind: .staticMinMax, baseName: .weight, args: Self.nvfp4).reducesToMagnitudes)
    #expect(try !Observer(kind: .memorylessMSE, baseName: .weight, args: Self.nvfp4).reducesToMagnitudes)
    let group = try QuantizationArgs(numBits: 4, groupSize: 16, strategy: .group)
    #expect(try !Observer(kind: .memorylessMinMax, baseName: .weight, args: group).reducesToMagnitudes)
    // Groups that are not contiguous runs of sixteen in order (a 0-d value is one group).
    let value = Tensor(shape: [2, 32], values: Self.values(count: 64, seed: 1))
    let channel = try GroupLayout(shape: [2, 32], baseName: .weight, args: try QuantizationArgs(numBits: 8, strategy: .channel))
    #expect(GroupMagnitudes(value, layout: channel, parallel: false) == nil)
    // Machines without AVX2 keep the ranges.
    #expect(GroupMagnitudes(value, layout: try GroupLayout(shape: [2, 32], baseName: .weight, args: Self.nvfp4), parallel: false, width: 0) == nil)
  }

  /// Every kernel this CPU has (AVX2 and, where present, AVX-512) gives each group's
  /// largest magnitude bit for bit, as a plain loop over the bits finds it, with the largest
  /// of all; NaN and infinity are refused by each.
  @Test(arguments: [FloatDType.float32, .bfloat16, .float16])
  func everyKernelWidthGivesTheSameMagnitudes(dtype: FloatDType) throws {
    let widths = WideKernels.runnableWidths
    for (k, shape) in Self.shapes.enumerated() {
      let raw = Self.values(count: shape[0] * shape[1], seed: UInt64(k + 11))
      let value = FusedParametersTests.tensor(shape, raw.map(dtype.rounded), dtype)
      let layout = try GroupLayout(shape: shape, baseName: .weight, args: Self.nvfp4)
      let decoded = value.values
      let expected = (0..<layout.count).map { g in decoded[(16 * g)..<(16 * g + 16)].map(\.magnitude).max()! }
      for width in widths {
        let magnitudes = try #require(GroupMagnitudes(value, layout: layout, parallel: true, width: width))
        let found: [Float]
        switch magnitudes.values {
        case .float32(let m): found = m
        case .halfBits(let bits, let format): found = bits.map(format.float)
        }
        #expect(found.map(\.bitPattern) == expected.map(\.bitPattern), "\(shape) \(dtype) width \(width)")
        #expect(magnitudes.largest == expected.max()!, "\(shape) \(dtype) width \(width)")
      }
      var poisoned = raw.map(dtype.rounded)
      poisoned[poisoned.count - 17] = .nan
      let bad = FusedParametersTests.tensor(shape, poisoned, dtype)
      for width in widths {
        #expect(GroupMagnitudes(bad, layout: layout, parallel: false, width: width) == nil, "\(shape) \(dtype) width \(width)")
      }
    }
  }

  /// Streamed past the cache in whole 64-byte lines, with ordinary stores for the partial
  /// lines at both ends, or stored as usual: at every start alignment of the output, and
  /// for odd and even numbers of sixteen-group steps, the kernels write exactly their
  /// groups' magnitudes and not one slot before or after (the bf16 kernel at a start that
  /// is not a float's alignment stores without streaming).
  @Test(.needsAVX512) func streamedMagnitudesLandAtEveryAlignment() throws {
    let guardValue: Float = -7, guardBits: UInt16 = 0xBEEF
    for steps in [1, 2, 3, 5] {
      let groups = 16 * steps
      let raw = Self.values(count: 16 * groups, seed: UInt64(steps))
      let floats = raw.map(\.bitPattern).map { $0 & 0x7FFF_FFFF }
      let bits = raw.map(BFloat16.bits)
      let expected = (0..<groups).map { g in floats[(16 * g)..<(16 * g + 16)].max()! }
      let expectedBits = (0..<groups).map { g in bits[(16 * g)..<(16 * g + 16)].map { $0 & 0x7FFF }.max()! }
      for start in 0..<32 {
        for streams: Int32 in [1, 0] {
          var out = [Float](repeating: guardValue, count: start + groups + 32)
          var largest: Float = 0
          let finite = out.withUnsafeMutableBufferPointer { o in
            calib_group_magnitudes16(16, raw, groups, o.baseAddress! + start, &largest, streams)
          }
          #expect(finite != 0)
          #expect(out[start..<(start + groups)].map(\.bitPattern) == expected, "steps \(steps) start \(start) streams \(streams)")
          #expect(out[..<start].allSatisfy { $0 == guardValue } && out[(start + groups)...].allSatisfy { $0 == guardValue })
          #expect(largest.bitPattern == expected.max()!)

          var outBits = [UInt16](repeating: guardBits, count: start + groups + 32)
          var largestBits: UInt16 = 0
          let bitsFinite = outBits.withUnsafeMutableBufferPointer { o in
            calib_bf16_group_magnitudes16(16, bits, groups, o.baseAddress! + start, &largestBits, streams)
          }
          #expect(bitsFinite != 0)
          #expect(Array(outBits[start..<(start + groups)]) == expectedBits, "bf16 steps \(steps) start \(start) streams \(streams)")
          #expect(outBits[..<start].allSatisfy { $0 == guardBits } && outBits[(start + groups)...].allSatisfy { $0 == guardBits })
          #expect(largestBits == expectedBits.max()!)
        }
      }
    }
  }
}
