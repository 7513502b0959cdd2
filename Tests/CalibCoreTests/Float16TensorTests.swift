@testable import CalibCore
import Testing

/// Tensors made from raw f16 bits: lazily decoded values, and min/max reduced on the bits
/// (the keys bf16 uses, with f16's ∞ and widening) with the float path's results, bit for
/// bit.
@Suite struct Float16TensorTests {
  /// Random finite f16 bits (normal, subnormal, ±0; ±∞ kept out unless asked).
  static func randomBits(_ count: Int, seed: UInt64, infinities: Bool = false) -> [UInt16] {
    var state = seed
    return (0..<count).map { _ in
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      // Mostly values near 1 (exponents 13–17), some of any magnitude.
      var b = UInt16(truncatingIfNeeded: state >> 40)
      if (state >> 20) & 3 != 0 { b = (b & 0x83FF) | (UInt16(13 + (state >> 24) % 5) << 10) }
      if !infinities && b & 0x7FFF >= 0x7C00 { b &= 0x83FF }
      return b
    }
  }

  static func floats(_ bits: [UInt16]) -> [Float] { bits.map { Float(Float16(bitPattern: $0)) } }

  /// Every strided layout on random values, with rows whose ends are zeros of either sign,
  /// then a NaN and both infinities: the minima and maxima of the float32 values.
  @Test(arguments: [
    (QuantizationStrategy.tensor, 0), (.channel, 0), (.group, 8), (.group, 16), (.group, 24), (.group, 128),
  ])
  func bitsReduceLikeTheDecodedValues(strategy: QuantizationStrategy, group: Int) throws {
    let (rows, cols) = (48, 384)
    var bits = Self.randomBits(rows * cols, seed: UInt64(group + 3) &* 0x9E37_79B9)
    for c in 0..<cols {
      bits[cols + c] &= 0x7FFF
      bits[2 * cols + c] |= 0x8000
      bits[3 * cols + c] = c % 3 == 0 ? 0x8000 : 0
    }
    for c in stride(from: 0, to: cols, by: 5) {
      bits[cols + c] = c % 2 == 0 ? 0 : 0x8000
      bits[2 * cols + c] = c % 2 == 0 ? 0x8000 : 0
    }
    let args = try QuantizationArgs(numBits: 4, groupSize: group == 0 ? nil : group, strategy: strategy)
    let layout = try GroupLayout(shape: [rows, cols], baseName: .weight, args: args)
    func expectSameReductions(_ bits: [UInt16], _ comment: Comment) {
      let got = RangeReduction.minMax(Tensor(shape: [rows, cols], float16Bits: bits), layout: layout, parallel: false)
      let expected = RangeReduction.minMax(Self.floats(bits), layout: layout, parallel: false)
      #expect(BFloat16TensorTests.same(got.0, expected.0) && BFloat16TensorTests.same(got.1, expected.1), comment)
    }
    expectSameReductions(bits, "finite")
    bits[4 * cols + 17] = 0x7E01
    (bits[5 * cols + 3], bits[5 * cols + 200]) = (0x7C00, 0xFC00)
    expectSameReductions(bits, "NaN and ±∞")
  }

  /// A whole tensor larger than one work chunk, with a zero extreme in one chunk and a NaN
  /// in another; the store's chunked range of the same bits agrees.
  @Test func wholeTensorsReduceLikeTheDecodedValues() throws {
    var bits = Self.randomBits(700_003, seed: 17, infinities: true)
    for i in 0..<bits.count where bits[i] & 0x7FFF > 0x7C00 { bits[i] = 0x3C00 }
    let args = try QuantizationArgs(numBits: 8, strategy: .tensor)
    let layout = try GroupLayout(shape: [bits.count], baseName: .input, args: args)
    for variant in 0..<3 {
      var b = bits
      if variant >= 1 { for i in 300_000..<300_000 + (1 << 18) { b[i] &= 0x7FFF } }  // chunk 1 non-negative
      if variant >= 1 { (b[300_010], b[300_011]) = (0x8000, 0) }
      if variant == 2 { b[650_000] = 0xFE00 }
      let raw = Tensor(shape: [b.count], float16Bits: b)
      let expected = RangeReduction.minMax(Self.floats(b), layout: layout)
      let got = RangeReduction.minMax(raw, layout: layout)
      #expect(BFloat16TensorTests.same(got.0, expected.0) && BFloat16TensorTests.same(got.1, expected.1), "variant \(variant)")
      let whole = RangeReduction.range(of: raw)
      let read = b.withUnsafeBufferPointer(ValueRange.init(ofFloat16Bits:))
      #expect(BFloat16TensorTests.same([whole.min, whole.max, read.min, read.max], [expected.0[0], expected.1[0], expected.0[0], expected.1[0]]))
    }
  }

  /// Observers give the same parameters and state on f16 bits as on the decoded f16
  /// values: group-wise min/max with a running average, channel-wise memoryless, and
  /// NVFP4's global and local scales.
  @Test func observersAgreeOnBitsAndValues() throws {
    let bits = Self.randomBits(64 * 256, seed: 5)
    let raw = Tensor(shape: [64, 256], float16Bits: bits)
    let decoded = Tensor(shape: [64, 256], values: Self.floats(bits), dtype: .float16)
    let cases: [(ObserverKind, QuantizationArgs)] = [
      (.minMax, try QuantizationArgs(numBits: 4, groupSize: 128, strategy: .group)),
      (.memorylessMinMax, try QuantizationArgs(numBits: 8, strategy: .channel)),
      (.staticMinMax, try QuantizationArgs(numBits: 8, type: .float, strategy: .tensor)),
      (.memorylessMinMax, QParamVectorPathTests.nvfp4Preset),
    ]
    for (kind, args) in cases {
      var a = try Observer(kind: kind, baseName: .weight, args: args)
      var b = a
      for _ in 0..<2 {
        let g = try a.observeGlobalScale(raw)
        #expect(try g == b.observeGlobalScale(decoded), "\(kind) \(args.strategy)")
        #expect(try a.observe(raw, globalScale: g) == b.observe(decoded, globalScale: g), "\(kind) \(args.strategy)")
      }
      #expect(a.state == b.state, "\(kind) \(args.strategy)")
    }
  }

  /// The AVX-512 widening gives every f16 bit pattern's float32, bit for bit, NaN
  /// payloads and signaling NaNs included, at every tail length.
  @Test func wideWideningMatchesTheScalarOneForEveryPattern() throws {
    try #require(WideKernels.width == 16, "no AVX-512 here: nothing to compare")
    let all = (0...0xFFFF).map(UInt16.init)
    let scalar = all.map { HalfFormat.float16.float($0).bitPattern }
    for count in [all.count, all.count - 5, 15, 1, 0] {
      var out = [Float](repeating: 7, count: count)
      all.withUnsafeBufferPointer { b in
        out.withUnsafeMutableBufferPointer { o in
          if count > 0 { HalfFormat.float16.widen(b.baseAddress!, count, into: o.baseAddress!, width: 16) }
        }
      }
      let differing = (0..<count).filter { out[$0].bitPattern != scalar[$0] }
      #expect(differing.isEmpty, "count \(count): first differing pattern \(differing.first.map(String.init) ?? "-")")
    }
    // Every non-NaN pattern is the value Swift's own conversion gives; NaNs keep payloads.
    #expect(all.allSatisfy { b in Float16(bitPattern: b).isNaN || scalar[Int(b)] == Float(Float16(bitPattern: b)).bitPattern })
    #expect(scalar[0x7C01] == 0x7F80_2000 && scalar[0xFE00] == 0xFFC0_0000, "NaN payloads and signs kept")
  }

  /// The bits decode on first read, copies share them, and changing a value drops them.
  @Test func valuesDecodeLazilyAndChangesDropTheBits() {
    let bits: [UInt16] = [0x3C00, 0xB800, 0x8000, 0x7C00, 0x0001]
    let t = Tensor(shape: [5], float16Bits: bits, knownRange: ValueRange(min: -0.5, max: .infinity))
    #expect(t.values == [1, -0.5, -0, .infinity, 0x1p-24])
    #expect(t == Tensor(shape: [5], values: [1, -0.5, 0, .infinity, 0x1p-24], dtype: .float16))
    #expect(t.float16Bits == bits && t.bfloat16Bits == nil && t.dtype == .float16)
    var u = t
    u.values[0] = 2
    #expect(u.float16Bits == nil && u.knownRange == nil)
    #expect(t.values[0] == 1 && t.float16Bits == bits && t.knownRange != nil)
  }
}
