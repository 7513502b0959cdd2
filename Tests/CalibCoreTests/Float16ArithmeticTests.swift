import CalibCore
import Testing

// Model-dtype arithmetic in float16: overflow above 65504, subnormals and ties.
//
// Every expected value was computed in the reference venv (~/.calib-reference:
// llm-compressor 0.10.0, compressed-tensors 0.14.0, torch 2.10.0 CPU) by feeding the
// library torch.float16 tensors — `x.half()` for the rounding cases,
// `Observer.load_from_registry(name, base_name=..., args=..., module=...)(x)` for the
// observers, `fake_quantize` and `generate_gparam` directly — and printing the results'
// float32 bit patterns (see CoreTestSupport.swift).
@Suite struct Float16ArithmeticTests {}

extension Float16ArithmeticTests {
  // MARK: - Rounding

  struct RoundingCase: Sendable, CustomTestStringConvertible {
    let id: String
    let input: Float
    let expected: UInt32
    var testDescription: String { id }
  }

  static let roundings: [RoundingCase] = [
    .init(id: "largest finite", input: 65504, expected: 0x477F_E000),
    .init(id: "below the overflow tie", input: 65519, expected: 0x477F_E000),
    .init(id: "overflow tie 65520 → inf", input: 65520, expected: 0x7F80_0000),
    .init(id: "above 65504 → inf", input: 70000, expected: 0x7F80_0000),
    .init(id: "negative overflow → -inf", input: -65520, expected: 0xFF80_0000),
    .init(id: "smallest subnormal", input: 0x1p-24, expected: 0x3380_0000),
    .init(id: "half the smallest subnormal ties to 0", input: 0x1p-25, expected: 0x0000_0000),
    .init(id: "1.5 subnormal steps tie to 2", input: 3 * 0x1p-25, expected: 0x3400_0000),
    .init(id: "just above the 0 tie", input: 0x1p-25 * 1.0000001, expected: 0x3380_0000),
    .init(id: "normal tie to even (down)", input: 1 + 0x1p-11, expected: 0x3F80_0000),
    .init(id: "normal tie to even (up)", input: 1 + 3 * 0x1p-11, expected: 0x3F80_4000),
    .init(id: "just below the smallest normal", input: 6.1e-5, expected: 0x387F_C000),
    .init(id: "far below the subnormals", input: 1e-8, expected: 0x0000_0000),
    .init(id: "negative subnormal", input: -3e-7, expected: 0xB4A0_0000),
  ]

  @Test(arguments: roundings) func roundsAsTorchsCast(_ c: RoundingCase) {
    #expect(hexBits(FloatDType.float16.rounded(c.input)) == hexBits(f32(c.expected)))
    var lanes = SIMD8<Float>(repeating: 1)
    lanes[3] = c.input
    #expect(hexBits(FloatDType.float16.rounded(lanes)[3]) == hexBits(f32(c.expected)))
  }

  /// The eight-lane rounding gives the scalar one's bits over a sweep of float32 bit
  /// patterns (both signs, subnormals to NaN), in every lane.
  @Test func lanesMatchTheScalarRounding() {
    for start in stride(from: UInt32(0), to: 0xFFFF_FFFF - 8 * 40_009, by: 8 * 40_009) {
      let x = SIMD8<Float>((0..<8).map { Float(bitPattern: start &+ UInt32($0) &* 40_009) })
      let lanes = FloatDType.float16.rounded(x)
      for k in 0..<8 {
        let scalar = FloatDType.float16.rounded(x[k])
        #expect(lanes[k].bitPattern == scalar.bitPattern || (lanes[k].isNaN && scalar.isNaN), "0x\(String(x[k].bitPattern, radix: 16))")
      }
    }
  }

  @Test func nanStaysNaN() {
    #expect(FloatDType.float16.rounded(Float.nan).isNaN)
    #expect(FloatDType.float16.rounded(SIMD8<Float>(repeating: .nan))[0].isNaN)
  }

  // MARK: - calculate_qparams through an observer

  private func observe(
    _ values: [UInt32], shape: [Int], args: QuantizationArgs, kind: ObserverKind, base: BaseName = .input
  ) throws -> QuantizationParameters? {
    var observer = try Observer(kind: kind, baseName: base, args: args)
    return try observer.observe(Tensor(shape: shape, values: f32s(values), dtype: .float16))
  }

  @Test func asymmetricRangeOverflowsToAnInfiniteScale() throws {
    // max - min = 120000 overflows float16: s = inf, zp = -128 - (-60000 / inf) = -128.
    let args = try QuantizationArgs(numBits: 8, symmetric: false, strategy: .tensor)
    let p = try #require(
      try observe([0xC76A_6000, 0x3F80_0000, 0x476A_6000, 0x4000_0000], shape: [1, 4], args: args, kind: .memorylessMinMax))
    #expect(hexList(p.scale.values) == hexList([.infinity]))
    #expect(p.zeroPoint.values == [-128])
    #expect(p.scaleDType == .float16)
    #expect(p.scale.dtype == .float16)
  }

  @Test func symmetricScaleOfTheLargestValue() throws {
    let args = try QuantizationArgs(numBits: 8, strategy: .tensor)
    let p = try #require(
      try observe([0xC77F_E000, 0x3F80_0000, 0x476A_6000, 0x4000_0000], shape: [1, 4], args: args, kind: .memorylessMinMax))
    #expect(hexList(p.scale.values) == hexList(f32s([0x4400_8000])))
  }

  @Test func subnormalScaleThatRoundsToZeroBecomesTheF16Epsilon() throws {
    // 2⁻²⁰ / 127.5 is below half the smallest subnormal: 0, replaced by eps = 2⁻¹⁰.
    let args = try QuantizationArgs(numBits: 8, strategy: .tensor)
    let p = try #require(
      try observe([0x3580_0000, 0xB540_0000, 0x0000_0000, 0x3380_0000], shape: [1, 4], args: args, kind: .memorylessMinMax))
    #expect(hexList(p.scale.values) == hexList(f32s([0x3A80_0000])))
  }

  @Test func subnormalScales() throws {
    let values: [UInt32] = [0x38D1_C000, 0xB99D_4000, 0x3851_C000, 0x3380_0000]
    let int4 = try QuantizationArgs(numBits: 4, strategy: .tensor)
    let s = try #require(try observe(values, shape: [1, 4], args: int4, kind: .memorylessMinMax))
    #expect(hexList(s.scale.values) == hexList(f32s([0x3827_C000])))
    let asym = try QuantizationArgs(numBits: 8, symmetric: false, strategy: .tensor)
    let a = try #require(try observe(values, shape: [1, 4], args: asym, kind: .memorylessMinMax))
    #expect(hexList(a.scale.values) == hexList(f32s([0x35D0_0000])))
    #expect(a.zeroPoint.values == [66])
  }

  // MARK: - Moving average

  @Test func movingAverageRoundsEachOperation() throws {
    let args = try QuantizationArgs(numBits: 8, strategy: .tensor)
    var observer = try Observer(kind: .minMax, baseName: .input, args: args)
    let steps: [([UInt32], UInt32, UInt32, UInt32)] = [
      ([0x3DCC_C000, 0xBE4C_C000, 0x3E99_A000], 0xBE4C_C000, 0x3E99_A000, 0x3B1A_4000),
      ([0x3E99_8000, 0xBF19_8000, 0x3F66_8000], 0xBE50_E000, 0x3E9C_C000, 0x3B1D_6000),
      ([0x3D4C_C000, 0xBDCC_C000, 0x3E19_A000], 0xBE4F_C000, 0x3E9B_E000, 0x3B1C_8000),
      // A value barely above the state: the f16 update leaves the maximum where it was.
      ([0x3DCD_0000, 0xBE4D_0000, 0x3E99_C000], 0xBE4F_A000, 0x3E9B_E000, 0x3B1C_8000),
    ]
    for (values, mn, mx, scale) in steps {
      let p = try #require(try observer.observe(Tensor(shape: [1, 3], values: f32s(values), dtype: .float16)))
      #expect(hexList(observer.state.minValues?.values ?? []) == hexList([f32(mn)]))
      #expect(hexList(observer.state.maxValues?.values ?? []) == hexList([f32(mx)]))
      #expect(observer.state.minValues?.dtype == .float16)
      #expect(hexList(p.scale.values) == hexList([f32(scale)]))
    }
  }

  // MARK: - Fake quantization and the global scale

  @Test func fakeQuantizationOverflowsAndClamps() throws {
    // 65504 / 0.0234375 overflows to inf and clamps to 127; 1e-7 and 2⁻²⁴ quantize to 0.
    let args = try QuantizationArgs(numBits: 8, strategy: .tensor)
    let x = Tensor(
      shape: [1, 6], values: f32s([0x477F_E000, 0xBF00_0000, 0x3400_0000, 0x4040_0000, 0x3380_0000, 0xC0E8_0000]),
      dtype: .float16)
    let p = QuantizationParameters(
      scale: Tensor(shape: [1], values: [0.0234375], dtype: .float16), zeroPoint: Tensor(shape: [1], values: [0]),
      zeroPointDType: .int8, scaleDType: .float16)
    let out = try args.fakeQuantized(x, as: .input, parameters: p)
    #expect(hexList(out.values) == hexList(f32s([0x403E_8000, 0xBEFC_0000, 0, 0x403E_8000, 0, 0xC040_0000])))
    #expect(out.dtype == .float16)
  }

  @Test func groupFakeQuantizationInF16() throws {
    let args = try QuantizationArgs(numBits: 4, groupSize: 2, strategy: .group)
    let x = Tensor(shape: [1, 4], values: f32s([0x3DCC_C000, 0xBE4C_C000, 0x4040_0000, 0x3588_0000]), dtype: .float16)
    let p = QuantizationParameters(
      scale: Tensor(shape: [1, 2], values: f32s([0x3CDA_C000, 0x3ECC_C000]), dtype: .float16),
      zeroPoint: Tensor(shape: [1, 2], values: [0, 0]), zeroPointDType: .int8, scaleDType: .float16)
    let out = try args.fakeQuantized(x, as: .weight, parameters: p)
    #expect(hexList(out.values) == hexList(f32s([0x3DDA_C000, 0xBE3F_6000, 0x4033_2000, 0])))
    #expect(out.dtype == .float16)
  }

  @Test func globalScaleInF16() {
    // r(r(1 / 0.37) · 2688) in f16, returned as float32.
    #expect(hexBits(GlobalScale.generate(min: f32(0xBEBD_8000), max: 0.3, dtype: .float16)) == hexBits(f32(0x45E2_E000)))
    // The f16 reciprocal of a subnormal overflows: +inf.
    #expect(GlobalScale.generate(min: f32(0xB728_0000), max: 0, dtype: .float16) == .infinity)
  }

  // MARK: - MSE search

  @Test func mseSearchInF16() throws {
    let w = f32s([
      0x3DCC_8000, 0x3F04_8000, 0x3F75_2000, 0x3FAB_2000, 0x3FC9_2000, 0x3FCB_E000, 0x3FAE_0000, 0x3EDF_6000,
      0x3DBE_C000, 0xBEBB_4000, 0xBF5F_C000, 0xBFAC_4000, 0xBFD8_2000, 0xBFE9_2000, 0xBF57_E000, 0xBF2D_2000,
      0xBEAB_4000, 0x3E1C_0000, 0x3F38_A000, 0x3FA4_6000, 0x3FDF_0000, 0x3F80_0000, 0x3F87_8000, 0x3F6F_8000,
      0x3F1D_6000, 0x3DF0_6000, 0xBEFF_6000, 0xBF92_C000, 0xBF5C_2000, 0xBF90_4000, 0xBFA1_2000, 0xBF99_8000,
    ])
    let expected: [(Bool, [UInt32], [Float])] = [
      (true, [0x3E59_8000, 0x3E5F_C000, 0x3E6D_E000, 0x3E26_A000], [0, 0, 0, 0]),
      (false, [0x3DD7_6000, 0x3E02_A000, 0x3E0C_4000, 0x3DFD_4000], [-8, 6, -6, 2]),
    ]
    for (symmetric, scales, zeros) in expected {
      let args = try QuantizationArgs(numBits: 4, symmetric: symmetric, groupSize: 8, strategy: .group)
      var observer = try Observer(kind: .memorylessMSE, baseName: .weight, args: args)
      let p = try #require(try observer.observe(Tensor(shape: [2, 16], values: w, dtype: .float16)))
      #expect(hexList(p.scale.values) == hexList(f32s(scales)), "symmetric \(symmetric)")
      #expect(p.zeroPoint.values == zeros)
      #expect(p.scaleDType == .float16)
    }
  }
}
