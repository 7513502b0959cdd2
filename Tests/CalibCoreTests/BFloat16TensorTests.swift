@testable import CalibCore
import Testing

/// Tensors made from raw bf16 bits (f16 bits too, where a test says so): lazily decoded
/// values, and min/max reduced on the bits with the float path's results, bit for bit.
@Suite struct BFloat16TensorTests {
  /// Random finite bits of `format` (normal, subnormal, ±0; ±∞ kept out unless asked),
  /// mostly in five binades (exponent fields 0x3C–0x40 for bf16, 13–17 for f16), some of
  /// any magnitude.
  static func randomBits(_ count: Int, seed: UInt64, infinities: Bool = false, format: HalfFormat = .bfloat16) -> [UInt16] {
    // Mantissa bits, the exponent field's shift and the five binades' lowest exponent field.
    let (mantissa, shift, lowest): (UInt16, UInt16, UInt64) = format == .bfloat16 ? (0x7F, 7, 0x3C) : (0x3FF, 10, 13)
    let infinity = UInt16(format.infinityKey)
    var state = seed
    return (0..<count).map { _ in
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      var b = UInt16(truncatingIfNeeded: state >> 40)
      if (state >> 20) & 3 != 0 { b = (b & (0x8000 | mantissa)) | (UInt16(lowest + (state >> 24) % 5) << shift) }
      if !infinities && b & 0x7FFF >= infinity { b &= 0x8000 | mantissa }
      return b
    }
  }

  static func floats(_ bits: [UInt16], _ format: HalfFormat = .bfloat16) -> [Float] { bits.map(format.float) }

  /// Special bit patterns of a format, and the seeds its reduction tests draw from.
  struct Specials {
    let one, infinity, negativeInfinity, nan, negativeNaN: UInt16
    let stridedSeed, wholeSeed: UInt64
    /// The format's own dtype, the arithmetic of its tensors.
    let dtype: FloatDType

    init(_ format: HalfFormat) {
      switch format {
      case .bfloat16: (one, infinity, negativeInfinity, nan, negativeNaN) = (0x3F80, 0x7F80, 0xFF80, 0x7FC1, 0xFFC0)
      case .float16: (one, infinity, negativeInfinity, nan, negativeNaN) = (0x3C00, 0x7C00, 0xFC00, 0x7E01, 0xFE00)
      }
      (stridedSeed, wholeSeed, dtype) = format == .bfloat16 ? (7, 11, .bfloat16) : (3, 17, .float16)
    }
  }

  /// Same bits, or both NaN.
  static func same(_ a: [Float], _ b: [Float]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
  }

  /// Every strided layout (tensor, channel, groups of 8 to 128) on random values, with
  /// rows rigged to have a ±0 at an end and a -0 and a +0 at both: the same minima and
  /// maxima as the float32 values, bit for bit, and again with a NaN and ±∞ added; bf16
  /// and f16 bits alike.
  @Test(arguments: [
    (QuantizationStrategy.tensor, 0), (.channel, 0), (.group, 8), (.group, 16), (.group, 24), (.group, 32),
    (.group, 128),
  ])
  func bitsReduceLikeTheDecodedValues(strategy: QuantizationStrategy, group: Int) throws {
    for format in [HalfFormat.bfloat16, .float16] {
      try bitsReduceLikeTheDecodedValues(strategy: strategy, group: group, format: format)
    }
  }

  private func bitsReduceLikeTheDecodedValues(strategy: QuantizationStrategy, group: Int, format: HalfFormat) throws {
    let special = Specials(format)
    let (rows, cols) = (48, 384)
    var bits = Self.randomBits(rows * cols, seed: (UInt64(group) &+ special.stridedSeed) &* 0x9E37_79B9, format: format)
    // Row 1 non-negative with zeros of both signs; row 2 non-positive likewise; row 3 all
    // zeros of mixed sign; row 4 a NaN; row 5 both infinities.
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
    func reductions(_ bits: [UInt16]) -> (got: ([Float], [Float]), expected: ([Float], [Float])) {
      let raw = Tensor(shape: [rows, cols], halfBits: bits, format, dtype: special.dtype)
      return (
        RangeReduction.minMax(raw, layout: layout, parallel: false),
        RangeReduction.minMax(Self.floats(bits, format), layout: layout, parallel: false)
      )
    }
    let finite = reductions(bits)
    #expect(Self.same(finite.got.0, finite.expected.0) && Self.same(finite.got.1, finite.expected.1), "\(format)")
    bits[4 * cols + 17] = special.nan
    (bits[5 * cols + 3], bits[5 * cols + 200]) = (special.infinity, special.negativeInfinity)
    let withSpecials = reductions(bits)
    #expect(Self.same(withSpecials.got.0, withSpecials.expected.0) && Self.same(withSpecials.got.1, withSpecials.expected.1), "\(format)")
    #expect(withSpecials.got.0.contains { $0.isNaN }, "\(format)")
  }

  /// A whole tensor larger than one work chunk, with a zero extreme in one chunk and the
  /// NaN rule across chunks; bf16 and f16 bits alike, and the store's chunked range of the
  /// same bits (`ValueRange(ofHalfBits:_:)`) agrees.
  @Test(arguments: [HalfFormat.bfloat16, .float16])
  func wholeTensorsReduceLikeTheDecodedValues(format: HalfFormat) throws {
    let special = Specials(format)
    var bits = Self.randomBits(700_003, seed: special.wholeSeed, infinities: true, format: format)
    // NaNs out (±∞ stay): a NaN goes in only where a variant puts one.
    for i in 0..<bits.count where bits[i] & 0x7FFF > special.infinity { bits[i] = special.one }
    let args = try QuantizationArgs(numBits: 8, strategy: .tensor)
    let layout = try GroupLayout(shape: [bits.count], baseName: .input, args: args)
    for variant in 0..<3 {
      var b = bits
      if variant >= 1 { for i in 300_000..<300_000 + (1 << 18) { b[i] &= 0x7FFF } }  // chunk 1 non-negative
      if variant >= 1 { (b[300_010], b[300_011]) = (0x8000, 0) }
      if variant == 2 { b[650_000] = special.negativeNaN }
      let raw = Tensor(shape: [b.count], halfBits: b, format, dtype: special.dtype)
      let expected = RangeReduction.minMax(Self.floats(b, format), layout: layout)
      let got = RangeReduction.minMax(raw, layout: layout)
      #expect(Self.same(got.0, expected.0) && Self.same(got.1, expected.1), "variant \(variant)")
      let whole = RangeReduction.range(of: raw)
      #expect(Self.same([whole.min, whole.max], [expected.0[0], expected.1[0]]))
      let read = b.withUnsafeBufferPointer { ValueRange(ofHalfBits: $0, format) }
      #expect(Self.same([read.min, read.max], [expected.0[0], expected.1[0]]))
    }
  }

  /// Observers give the same parameters and state on bits as on decoded values: group-wise
  /// bf16 min/max with a running average, and NVFP4's global and local scales.
  @Test func observersAgreeOnBitsAndValues() throws {
    let bits = Self.randomBits(64 * 256, seed: 5)
    let floats = Self.floats(bits)
    let raw = Tensor(shape: [64, 256], bfloat16Bits: bits)
    let decoded = Tensor(shape: [64, 256], values: floats, dtype: .bfloat16)
    let group = try QuantizationArgs(numBits: 4, groupSize: 128, strategy: .group)
    var a = try Observer(kind: .minMax, baseName: .weight, args: group)
    var b = a
    for _ in 0..<2 {
      #expect(try a.observe(raw) == b.observe(decoded))
    }
    #expect(a.state == b.state)
  }

  /// NVFP4 takes its global range from the groups' ranges and keeps them for the local
  /// pass, on bits and on float32 values alike: the same global and local scales as the
  /// whole-value pass gives (a tensor whose known range skips the fusion), with a negative
  /// minimum, with zeros at the low end (the whole-value reduction decides), and for a
  /// static observer over two steps.
  @Test(arguments: [0, 1, 2, 3])
  func nvfp4GlobalRangeFromGroupsAgrees(variant: Int) throws {
    // Magnitudes in [0.25, 2), so that every group's scale is a normal FP8 value.
    var bits = Self.randomBits(64 * 256, seed: 9 + UInt64(variant)).map { ($0 & 0x80FF) | 0x3E80 }
    if variant >= 1 { bits = bits.map { $0 & 0x7FFF } }
    // Zeros of both signs at the low end. In variant 3 they sit where the whole-value
    // reduction and the groups' ranges give the minimum opposite signs, and a static
    // observer keeps that sign in its state (a missing zero-end fallback fails here).
    if variant == 1 { (bits[5], bits[77]) = (0x8000, 0) }
    if variant == 3 { (bits[0], bits[45]) = (0, 0x8000) }
    let nvfp4 = try QuantizationArgs(
      numBits: 4, type: .float, groupSize: 16, strategy: .tensorGroup, scaleDType: .float8E4M3FN)
    var c = try Observer(kind: variant >= 2 ? .staticMinMax : .memorylessMinMax, baseName: .weight, args: nvfp4)
    var (d, e) = (c, c)
    for step in 0..<2 {
      let shifted = bits.map { $0 &+ UInt16(step) }
      let floats = Self.floats(shifted)
      let raw = Tensor(shape: [64, 256], bfloat16Bits: shifted)
      let decoded = Tensor(shape: [64, 256], values: floats, dtype: .bfloat16)
      let (low, high) = RangeReduction.minMax(floats, parallel: false)
      let whole = Tensor(
        shape: [64, 256], values: floats, dtype: .bfloat16, knownRange: ValueRange(min: low, max: high))
      let (g1, g2, g3) = (try c.observeGlobalScale(raw), try d.observeGlobalScale(decoded), try e.observeGlobalScale(whole))
      #expect(g1 == g3 && g2 == g3)
      // == takes -0 for +0: the kept global minimum's sign is compared by its bits.
      #expect(c.state.globalMin?.bitPattern == e.state.globalMin?.bitPattern)
      #expect(d.state.globalMin?.bitPattern == e.state.globalMin?.bitPattern)
      let expected = try e.observe(whole, globalScale: g3)
      #expect(try c.observe(raw, globalScale: g1) == expected)
      #expect(try d.observe(decoded, globalScale: g2) == expected)
    }
    #expect(c.state == e.state && d.state == e.state)
  }

  /// An NVFP4 weight with an infinity or a NaN: the fused global pass keeps no ranges, so
  /// the local pass finds the culprits and refuses, on bits and on float32 values alike.
  @Test(arguments: [UInt16(0x7F80), 0xFF80, 0x7FC1])
  func nvfp4RefusesNonFiniteWeights(culprit: UInt16) throws {
    var bits = Self.randomBits(64 * 256, seed: 31).map { ($0 & 0x80FF) | 0x3E80 }
    bits[300] = culprit
    let nvfp4 = try QuantizationArgs(numBits: 4, type: .float, groupSize: 16, strategy: .tensorGroup)
    for value in [Tensor(shape: [64, 256], bfloat16Bits: bits), Tensor(shape: [64, 256], values: Self.floats(bits))] {
      var o = try Observer(kind: .memorylessMinMax, baseName: .weight, args: nvfp4)
      let global = try? o.observeGlobalScale(value)
      #expect(throws: ObserverError.nonFinite(count: 1, firstIndex: 300, shape: [64, 256])) {
        try o.observe(value, globalScale: global ?? 1)
      }
    }
  }

  /// `combined` against a plain reduction, across parallel chunks, a NaN in either array
  /// (in the sixteen-lane part or the tail), and zero ends.
  @Test func combinedRangeOfParameterRanges() throws {
    let n = RangeReduction.chunkElements * 2 + 21
    // Finite and nonzero: exponent fields 0x01…0x7E.
    let mins = Self.floats(Self.randomBits(n, seed: 5).map { ($0 & 0xBFFF) | 0x0080 })
    let maxs = mins.map { $0.magnitude * 2 }
    let expected = ValueRange(min: mins.min()!, max: maxs.max()!)
    #expect(RangeReduction.combined(mins: mins, maxs: maxs) == expected)
    #expect(RangeReduction.combined(mins: mins, maxs: maxs, parallel: false) == expected)
    for (inMins, index) in [(true, 7), (false, n - 10), (false, n - 2), (true, RangeReduction.chunkElements + 40)] {
      var (a, b) = (mins, maxs)
      if inMins { a[index] = .nan } else { b[index] = .nan }
      let range = try #require(RangeReduction.combined(mins: a, maxs: b))
      #expect(range.min.isNaN && range.max.isNaN)
    }
    // A zero minimum of nonnegative minima, a zero maximum of nonpositive maxima.
    var low = mins.map(\.magnitude)
    low[9] = 0
    var high = maxs.map { -$0 }
    high[n - 1] = -0.0
    #expect(RangeReduction.combined(mins: low, maxs: maxs) == nil)
    #expect(RangeReduction.combined(mins: mins.map { -$0.magnitude * 4 }, maxs: high) == nil)
    #expect(RangeReduction.combined(mins: [], maxs: []) == nil)
  }

  /// `minMaxAndCombined`, whose work items combine their own ranges, against `minMax`
  /// then `combined`: NVFP4 groups of 16 over several work items, on bits and on float32
  /// values, clean, with a NaN in the last item, and with a zero end.
  @Test func workItemsCombineTheirOwnRanges() throws {
    let (rows, cols) = (96, 4096)  // 24,576 groups: two work items of 16,384 groups.
    let args = try QuantizationArgs(numBits: 4, type: .float, groupSize: 16, strategy: .tensorGroup)
    let layout = try GroupLayout(shape: [rows, cols], baseName: .weight, args: args)
    #expect(layout.count > RangeReduction.parametersPerItem(length: 16))
    // Finite and nonzero, with the extremes in the second work item.
    var bits = Self.randomBits(rows * cols, seed: 12).map { ($0 & 0x80FF) | 0x3E80 }
    (bits[rows * cols - 40], bits[rows * cols - 3]) = (0xC2F0, 0x42F1)
    var nan = bits
    nan[rows * cols - 100] = 0x7FC1
    var zeroEnd = bits.map { $0 & 0x7FFF }  // nonnegative, its minimum a zero
    zeroEnd[5] = 0x8000
    for (case_, b) in [("clean", bits), ("NaN", nan), ("zero end", zeroEnd)] {
      for value in [Tensor(shape: [rows, cols], bfloat16Bits: b), Tensor(shape: [rows, cols], values: Self.floats(b))] {
        for parallel in [true, false] {
          let fused = RangeReduction.minMaxAndCombined(value, layout: layout, parallel: parallel)
          let (mins, maxs) = RangeReduction.minMax(value, layout: layout, parallel: parallel)
          #expect(Self.same(fused.mins, mins) && Self.same(fused.maxs, maxs), "\(case_)")
          let expected = RangeReduction.combined(mins: mins, maxs: maxs)
          switch case_ {
          case "clean": #expect(fused.combined == expected && fused.combined == ValueRange(min: -120, max: 120.5))
          case "NaN": #expect(fused.combined?.min.isNaN == true && fused.combined?.max.isNaN == true)
          default: #expect(fused.combined == nil && expected == nil)
          }
        }
      }
    }
  }

  /// The bits decode on first read, copies share them, and changing a value drops them.
  @Test func valuesDecodeLazilyAndChangesDropTheBits() {
    let bits: [UInt16] = [0x3F80, 0xBF00, 0x8000, 0x7F80]
    let t = Tensor(shape: [2, 2], bfloat16Bits: bits, knownRange: ValueRange(min: -0.5, max: .infinity))
    #expect(t.values == [1, -0.5, -0, .infinity])
    #expect(t == Tensor(shape: [2, 2], values: [1, -0.5, 0, .infinity], dtype: .bfloat16))
    var u = t
    #expect(u.bfloat16Bits == bits)
    u.values[0] = 2
    #expect(u.bfloat16Bits == nil && u.knownRange == nil)
    #expect(u.values == [2, -0.5, -0, .infinity])
    #expect(t.values[0] == 1 && t.bfloat16Bits == bits && t.knownRange != nil)
    #expect(t.elementCount == 4 && !t.isEmpty)
  }
}
