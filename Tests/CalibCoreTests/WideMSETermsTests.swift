@testable import CalibCore
import CalibKernels
import Testing

/// The AVX2 and AVX-512 term kernels (``WideMSETerms``) give the portable lanes' terms bit
/// for bit: every QDQ and power variant they take, values on and around rounding ties,
/// zeros, clamped levels and a ragged end.
@Suite struct WideMSETermsTests {
  /// Widths this CPU runs (none on a machine without AVX2: nothing to compare there).
  static let widths = WideKernels.runnableWidths

  /// Values spread over many magnitudes and both signs, with exact multiples and
  /// half-multiples of the first scale (the rounding ties) and zeros mixed in.
  static func values(_ n: Int, scale: Float) -> [Float] {
    var state: UInt64 = 0x2545_F491_4F6C_DD1D
    return (0..<n).map { j in
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      let u = Float(state >> 40) / Float(1 << 24)
      let sign: Float = state & 1 == 0 ? 1 : -1
      switch j % 7 {
      case 0: return sign * Float(j % 23) * scale * 0.5  // ties and exact levels
      case 1: return j % 14 == 1 ? 0 : -0.0
      case 2: return sign * u * 1e-30  // differences whose power underflows to 0
      default: return sign * u * u * scale * 300  // beyond the clamp, too
      }
    }
  }

  static func portableTerms<Q: LaneQDQ, P: LanePower, R: LaneRounding>(
    _ x: [Float], scales: [Float], zeros: [Float], _ qdq: Q, _ power: P, _ rounding: R.Type = Float32Lanes.self
  ) -> [Float] {
    var out: [Float] = []
    for i in scales.indices {
      let (s, zp) = (Lanes(repeating: scales[i]), Lanes(repeating: zeros[i]))
      for start in stride(from: 0, to: x.count, by: 8) {
        var v = Lanes()
        for k in 0..<Swift.min(8, x.count - start) { v[k] = x[start + k] }
        let d = MSEGridSearch.difference(v, s, zp, scales[i], zeros[i], qdq, R.self)
        let t = power.term(power.middle(power.begin(d)), R.self)
        for k in 0..<Swift.min(8, x.count - start) { out.append(t[k]) }
      }
    }
    return out
  }

  static func wideTerms<Q: LaneQDQ, P: LanePower, R: LaneRounding>(
    _ x: [Float], scales: [Float], zeros: [Float], _ qdq: Q, _ power: P, _ rounding: R.Type = Float32Lanes.self,
    width: Int
  ) throws -> [Float] {
    let wide = try #require(WideMSETerms(qdq, power, R.self, width: width))
    var out = [Float](repeating: .nan, count: x.count * scales.count + WideMSETerms.slack)
    x.withUnsafeBufferPointer { p in
      scales.withUnsafeBufferPointer { s in
        zeros.withUnsafeBufferPointer { z in
          out.withUnsafeMutableBufferPointer { o in
            wide.compute(p.baseAddress!, x.count, steps: scales.count, scales: s.baseAddress!, zeros: z.baseAddress!, into: o.baseAddress!)
          }
        }
      }
    }
    return Array(out.prefix(x.count * scales.count))
  }

  @Test(arguments: widths)
  func termsAgreeWithThePortableLanes(width: Int) throws {
    let scale: Float = 0.0137
    // 16 · 3 + 5: full vectors of either width and a ragged end.
    let x = Self.values(53, scale: scale)
    let scales: [Float] = [scale, scale * 0.99, scale * 0.83, 1e-7, 3.5]
    func agree<Q: LaneQDQ, P: LanePower>(_ qdq: Q, _ zeros: [Float], _ power: P) throws -> Bool {
      try Self.wideTerms(x, scales: scales, zeros: zeros, qdq, power, width: width).map(\.bitPattern)
        == Self.portableTerms(x, scales: scales, zeros: zeros, qdq, power).map(\.bitPattern)
    }
    for bits in [4, 8] {
      let symmetric = try QuantizationArgs(numBits: bits, type: .int, symmetric: true, strategy: .tensor)
      let asymmetric = try QuantizationArgs(numBits: bits, type: .int, symmetric: false, strategy: .tensor)
      let sym = try #require(SymmetricIntegerQDQ<Float32Lanes>(symmetric))
      let asym = try #require(IntegerQDQ<Float32Lanes>(asymmetric))
      let noZeros = [Float](repeating: 0, count: scales.count)
      let zeros: [Float] = [-3, 7, 0, -128, 12]
      for norm: Float in [2.4, 0.7, 4, 37] {
        let power = TorchPower(norm: norm)
        #expect(try agree(sym, noZeros, power), "torch's power, norm \(norm), int\(bits)")
        #expect(try agree(asym, zeros, power), "torch's power, norm \(norm), int\(bits), asymmetric")
      }
      // The certified search's approximation, fused multiply-adds and all, through the
      // kernels' pipelined loop.
      for norm: Float in [2.4, 1.2, 4] {
        let power = try #require(FastPower(norm: norm))
        #expect(try agree(sym, noZeros, power), "FastPower, norm \(norm), int\(bits)")
        #expect(try agree(asym, zeros, power), "FastPower, norm \(norm), int\(bits), asymmetric")
      }
      #expect(try agree(asym, zeros, CubePower()), "cube, int\(bits), asymmetric")
      #expect(try agree(asym, zeros, SquarePower()), "square, int\(bits), asymmetric")
      #expect(try agree(sym, noZeros, SquarePower()), "square, int\(bits)")
    }
  }

  /// The kernels take a level from x · fl(1/s) where it must equal the quotient's: values
  /// within a few ulp of every half-integer multiple of many scales (where a product and a
  /// quotient round to different levels), and scales whose reciprocal is not normal and
  /// finite, all give the lanes' terms.
  @Test(arguments: widths)
  func reciprocalLevelsAgreeWithTheQuotient(width: Int) throws {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    func unit() -> Float {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Float(state >> 40) / Float(1 << 24)
    }
    var scales = (0..<40).map { _ in Float(sign: .plus, exponent: Int(16 * unit()) - 12, significand: 1 + unit()) }
    scales += [.leastNormalMagnitude / 8, .leastNonzeroMagnitude, 3e38, .greatestFiniteMagnitude, .leastNormalMagnitude]
    for bits in [4, 8] {
      let symmetric = try QuantizationArgs(numBits: bits, type: .int, symmetric: true, strategy: .tensor)
      let asymmetric = try QuantizationArgs(numBits: bits, type: .int, symmetric: false, strategy: .tensor)
      let sym = try #require(SymmetricIntegerQDQ<Float32Lanes>(symmetric))
      let asym = try #require(IntegerQDQ<Float32Lanes>(asymmetric))
      let top = Float(1 << (bits - 1))
      for scale in scales {
        // Neighbours of (k + 1/2) · s for every level k in range and a step past it.
        var x: [Float] = []
        for k in stride(from: -top - 1, through: top, by: 1) {
          var v = (k + 0.5) * scale
          for _ in 0..<3 { v = v.nextDown }
          for _ in 0..<7 {
            x.append(v)
            v = v.nextUp
          }
        }
        let steps = [scale, scale.nextUp, scale.nextDown]
        let zeros: [Float] = [0, 3, -2]
        let power = SquarePower()
        #expect(
          try Self.wideTerms(x, scales: steps, zeros: [0, 0, 0], sym, power, width: width).map(\.bitPattern)
            == Self.portableTerms(x, scales: steps, zeros: [0, 0, 0], sym, power).map(\.bitPattern),
          "int\(bits), scale \(scale)")
        #expect(
          try Self.wideTerms(x, scales: steps, zeros: zeros, asym, power, width: width).map(\.bitPattern)
            == Self.portableTerms(x, scales: steps, zeros: zeros, asym, power).map(\.bitPattern),
          "int\(bits) asymmetric, scale \(scale)")
      }
    }
  }

  /// Runs of one or two vectors in all (too short to pipeline), and of exactly one full
  /// vector per step.
  @Test(arguments: widths)
  func shortRunsAgree(width: Int) throws {
    let scale: Float = 0.021
    let args = try QuantizationArgs(numBits: 4, type: .int, symmetric: false, strategy: .tensor)
    let qdq = try #require(IntegerQDQ<Float32Lanes>(args))
    let power = TorchPower(norm: 2.4)
    for (n, steps) in [(1, 1), (5, 1), (width + 3, 1), (width, 1), (width, 3), (3, 2)] {
      let x = Self.values(n, scale: scale)
      let scales = (0..<steps).map { scale * (1 - Float($0) / 100) }
      let zeros = (0..<steps).map { Float($0 % 3) - 1 }
      #expect(
        try Self.wideTerms(x, scales: scales, zeros: zeros, qdq, power, width: width).map(\.bitPattern)
          == Self.portableTerms(x, scales: scales, zeros: zeros, qdq, power).map(\.bitPattern),
        "n \(n), steps \(steps)")
    }
  }

  /// f16 values and scales (AVX-512 only): the CPU's f16 conversion rounds as the lanes'
  /// bit arithmetic does, and every QDQ and power an f16 search takes gives its terms,
  /// including f16 subnormals, values that round to ±∞ and the power table's gather.
  @Test(.needsAVX512) func float16TermsAgreeWithThePortableLanes() throws {
    let scale = FloatDType.float16.rounded(0.0137)
    // f16 values, a ragged end, and values whose quotient or level overflows f16.
    var x = Self.values(16 * 4 + 5, scale: scale).map(FloatDType.float16.rounded)
    x[7] = 65504
    x[8] = -3e-8  // an f16 subnormal neighbourhood
    x[9] = FloatDType.float16.rounded(6e-5)
    // Quotients x / s within half an f16 ulp of a level's tie, at the first scale: the
    // quotient's rounding to f16 moves the level (4.5011 → 4.5 → 4, not 5), and so does
    // the asymmetric sum's with the first zero point, 7 (4.4944 → 4.4961 → 11.5 → 12).
    let ties: [Float] = [0.061676025390625, 0.11651611328125, 0.130126953125, 0.06158447265625, 0.075439453125]
    x += ties + ties.map { -$0 }
    let scales = [scale, FloatDType.float16.rounded(scale * 0.83), 6e-8, 1e-3, 4096].map(FloatDType.float16.rounded)
    let zeros: [Float] = [7, -3, 0, -128, 12]
    let noZeros = [Float](repeating: 0, count: scales.count)
    for bits in [4, 8] {
      let sym = try #require(SymmetricIntegerQDQ<Float16Lanes>(
        try QuantizationArgs(numBits: bits, type: .int, symmetric: true, strategy: .tensor)))
      let asym = try #require(IntegerQDQ<Float16Lanes>(
        try QuantizationArgs(numBits: bits, type: .int, symmetric: false, strategy: .tensor)))
      func agree<Q: LaneQDQ, P: LanePower>(_ qdq: Q, _ power: P, _ zeros: [Float], _ label: String) throws {
        let wide = try Self.wideTerms(x, scales: scales, zeros: zeros, qdq, power, Float16Lanes.self, width: 16)
        let portable = Self.portableTerms(x, scales: scales, zeros: zeros, qdq, power, Float16Lanes.self)
        #expect(wide.map(\.bitPattern) == portable.map(\.bitPattern), "\(label), \(bits) bits")
      }
      for (name, table) in [("2.4", Float16PowerTable(norm: FloatDType.float16.rounded(2.4))), ("0.5", Float16PowerTable(norm: 0.5))] {
        try agree(sym, table, noZeros, "symmetric, table \(name)")
        try agree(asym, table, zeros, "asymmetric, table \(name)")
      }
      try agree(sym, SquarePower(), noZeros, "symmetric, square")
      try agree(asym, SquarePower(), zeros, "asymmetric, square")
      try agree(asym, CubePower(), zeros, "asymmetric, cube")
    }
  }

  /// The kernel's f16 rounding against ``BFloat16/halfRounded(_:)`` on a sweep of float32
  /// bit patterns (every 4099th, both signs), and around its boundaries: the f16 subnormal
  /// grid's ties, the largest finite value's, overflow to ±∞, NaN payloads.
  @Test(.needsAVX512) func float16RoundingAgreesWithTheLanes() throws {
    var x = stride(from: UInt32(0), to: 0x8000_0000, by: 4099).flatMap { [Float(bitPattern: $0), -Float(bitPattern: $0)] }
    x += [0x1p-25, 0x1p-25 * 3, 0x1p-24, 0x1p-14, 0x1p-14 - 0x1p-26, 65504, 65519.99, 65520, 1e30, .infinity]
    x += [Float(bitPattern: 0x7FC0_1234), Float(bitPattern: 0xFF80_0001), .leastNonzeroMagnitude]
    x += [Float](repeating: 0, count: (16 - x.count % 16) % 16)
    var out = [Float](repeating: 0, count: x.count)
    calib_f16_rounded(x, x.count, &out)
    for i in x.indices where out[i].bitPattern != BFloat16.halfRounded(x[i]).bitPattern {
      Issue.record("\(x[i]) (0x\(String(x[i].bitPattern, radix: 16))): \(out[i]) vs \(BFloat16.halfRounded(x[i]))")
    }
  }

  @Test func otherLanesKeepThePortableCode() throws {
    let args = try QuantizationArgs(numBits: 8, type: .int, symmetric: true, strategy: .tensor)
    let bf16 = try #require(SymmetricIntegerQDQ<BFloat16Lanes>(args))
    let f32 = try #require(SymmetricIntegerQDQ<Float32Lanes>(args))
    #expect(WideMSETerms(bf16, SquarePower(), BFloat16Lanes.self, width: 8) == nil)
    #expect(WideMSETerms(f32, BFloat16PowerTable(norm: 2.40625), Float32Lanes.self, width: 8) == nil)
    #expect(WideMSETerms(f32, SquarePower(), Float32Lanes.self, width: 0) == nil)
    // f16 takes AVX-512's conversions only.
    let f16 = try #require(SymmetricIntegerQDQ<Float16Lanes>(args))
    #expect(WideMSETerms(f16, SquarePower(), Float16Lanes.self, width: 8) == nil)
    #expect(WideMSETerms(f16, TorchPower(norm: 2.4), Float16Lanes.self, width: 16) == nil)
  }
}

/// The wide range kernels reduce with the Swift loops' own trees: the AVX-512 runs of 16
/// (`calib_range_runs16`, NVFP4's groups) and the AVX2 whole runs (`calib_range_run`)
/// give the same minima and maxima, zeros of the same sign, and the same finiteness
/// witness.
@Suite struct WideRangeRunsTests {
  @Test(.needsAVX512, arguments: [16, 17, 35, 64 + 9])
  func runsOf16AgreeWithThePortableLoop(runs: Int) throws {
    var state: UInt64 = 0xDA94_2042_E4DD_58B5 &* UInt64(runs)
    func next() -> UInt64 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return state >> 33
    }
    // A stride wider than a run, values of both signs, and runs made only of zeros of
    // mixed signs, or with a zero at one end, where the tree decides the sign.
    let stride = 20
    var x = (0..<runs * stride).map { _ in Float(Int(next() % 2001) - 1000) / 64 }
    for q in 0..<runs where q % 3 != 2 {
      for k in 0..<16 where q % 3 == 0 || next() % 2 == 0 {
        x[q * stride + k] = next() % 2 == 0 ? 0 : -0.0
      }
      if q % 3 == 1 { x[q * stride + Int(next() % 16)] = 1e-3 }
    }
    var combined: [Int: (Float, Float)] = [:]
    func reduce(width: Int) -> ([Float], [Float], Bool) {
      x.withUnsafeBufferPointer { p in
        filledRanges(count: runs) { out in
          let range = RangeReduction.runsOf16(p.baseAddress!, 0, runs, stride, out, width: width)
          combined[width] = range
          return range != nil
        }
      }
    }
    let (wide, portable) = (reduce(width: 16), reduce(width: 0))
    #expect(wide.0.map(\.bitPattern) == portable.0.map(\.bitPattern))
    #expect(wide.1.map(\.bitPattern) == portable.1.map(\.bitPattern))
    #expect(wide.2 && portable.2)
    // The combined range found on the way: that of every run's elements (zeros compare
    // equal whatever their signs; callers refuse a zero end).
    let all = (0..<runs).flatMap { x[$0 * stride..<$0 * stride + 16] }
    for width in [16, 0] {
      #expect(combined[width]?.0 == all.min() && combined[width]?.1 == all.max(), "width \(width)")
    }
    // An overflowing witness sum is caught the same way.
    x[3] = 3e38
    x[stride + 3] = 3e38
    #expect(reduce(width: 16).2 == false)
    #expect(reduce(width: 0).2 == false)
  }

  /// `calib_range_run` (whole runs, AVX2 and up) against the portable `fastRun`: the same
  /// minimum, maximum and witness sum, bit for bit, for lengths with and without a tail of
  /// eights and a ragged end, on values with zeros of both signs at the extremes, a NaN,
  /// infinities, and finite values whose witness overflows.
  @Test(.needsAVX2, arguments: [32, 33, 39, 40, 63, 64, 95, 96, 200, 1000, 4099])
  func wholeRunsAgreeWithThePortableLoop(n: Int) throws {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(n)
    func next() -> UInt64 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return state >> 33
    }
    let plain = (0..<n).map { _ in Float(Int(next() % 2001) - 1000) / 64 }
    // Non-negative with zeros of both signs (the minimum is a zero), and non-positive
    // likewise (the maximum is); all zeros; a NaN; both infinities; an overflowing sum.
    let nonNegative = plain.map { next() % 4 == 0 ? (next() % 2 == 0 ? 0 : -0.0) : $0.magnitude }
    let nonPositive = plain.map { next() % 4 == 0 ? (next() % 2 == 0 ? 0 : -0.0) : -$0.magnitude }
    let zeros = plain.map { _ in next() % 2 == 0 ? Float(0) : -0.0 }
    // The last element lies in the ragged tail when n is not a multiple of 8.
    var nan = plain
    nan[n - 1] = .nan
    var infinite = plain
    (infinite[0], infinite[n - 2]) = (.infinity, -.infinity)
    let overflowing = plain.map { $0 * 1e37 }
    for (name, x) in [
      ("plain", plain), ("non-negative", nonNegative), ("non-positive", nonPositive), ("zeros", zeros), ("NaN", nan),
      ("infinite", infinite), ("overflowing", overflowing),
    ] {
      let (wide, portable) = x.withUnsafeBufferPointer { p in
        (RangeReduction.fastRun(p.baseAddress!, n, width: 8), RangeReduction.fastRun(p.baseAddress!, n, width: 0))
      }
      #expect(wide.0.bitPattern == portable.0.bitPattern && wide.1.bitPattern == portable.1.bitPattern, "\(name)")
      #expect(wide.2.bitPattern == portable.2.bitPattern || (wide.2.isNaN && portable.2.isNaN), "\(name)")
    }
  }
}
