import CalibCore
import Testing

// bf16 arithmetic cases the conformance set does not isolate: dtype promotion in QDQ, the
// NVFP4 path (bf16 values, float32 global scale) and the moving average that does not
// move.
//
// Expected values were computed in the reference venv (~/.calib-reference:
// llm-compressor 0.10.0, compressed-tensors 0.14.0, torch 2.10.0 CPU) on
// torch.bfloat16 tensors with `fake_quantize`, `generate_gparam`, `calculate_qparams`
// and `Observer.load_from_registry("minmax", ...)`, printed as float32 bit patterns.
@Suite struct BFloat16ArithmeticTests {
  @Test func bf16ValuesWithAFloat32ScaleGiveFloat32() throws {
    let args = try QuantizationArgs(numBits: 8, strategy: .tensor)
    let x = Tensor(shape: [1, 4], values: f32s([0x3E9A_0000, 0xBFDA_0000, 0x403A_0000, 0x3C24_0000]), dtype: .bfloat16)
    let p = QuantizationParameters(
      scale: Tensor(shape: [1], values: [f32(0x3CBB_98C8)]), zeroPoint: Tensor(shape: [1], values: [0]),
      zeroPointDType: .int8, scaleDType: .float32)
    let out = try args.fakeQuantized(x, as: .input, parameters: p)
    #expect(out.dtype == .float32)
    #expect(hexList(out.values) == hexList(f32s([0x3E98_6C22, 0xBFD8_E8A7, 0x403A_2196, 0])))
  }

  @Test func nvfp4OnBF16Values() throws {
    let args = try QuantizationArgs(
      numBits: 4, type: .float, groupSize: 8, strategy: .tensorGroup, scaleDType: .float8E4M3FN)
    let x = Tensor(
      shape: [1, 16],
      values: f32s([
        0x3DE1_0000, 0xBE6C_0000, 0x3EBD_0000, 0xBED2_0000, 0x3FA6_0000, 0x400D_0000, 0xC046_0000, 0x3F12_0000,
        0x3CA4_0000, 0x3D4D_0000, 0xBDB8_0000, 0x3C55_0000, 0x3E4D_0000, 0xBD8F_0000, 0x3DE1_0000, 0x3CF6_0000,
      ]), dtype: .bfloat16)
    let (mn, mx) = RangeReduction.minMax(x.values)
    let g = GlobalScale.generate(min: mn, max: mx, dtype: .bfloat16)
    #expect(hexBits(g) == hexBits(f32(0x4459_0000)))
    let p = try args.quantizationParameters(
      min: Tensor(shape: [2], values: [-3.09375, -0.08984375], dtype: .bfloat16),
      max: Tensor(shape: [2], values: [2.203125, 0.2001953125], dtype: .bfloat16), globalScale: g)
    #expect(p.scaleDType == .float32)
    #expect(hexList(p.scale.values) == hexList(f32s([0x43E0_0000, 0x41F0_0000])))
    let out = try args.fakeQuantized(x, as: .weight, parameters: p, globalScale: g)
    #expect(out.dtype == .bfloat16)
    #expect(
      hexList(out.values)
        == hexList(
          f32s([
            0, 0xBE84_0000, 0x3E84_0000, 0xBF04_0000, 0x3FC6_0000, 0x4004_0000, 0xC046_0000, 0x3F04_0000,
            0x3C8E_0000, 0x3D54_0000, 0xBDD4_0000, 0x3C8E_0000, 0x3E54_0000, 0xBD8E_0000, 0x3DD4_0000, 0x3D0E_0000,
          ])))
  }

  @Test func movingAverageThatDoesNotMove() throws {
    // 1 · f32(0.99) rounds to 0.98828125 in bf16; adding 1.5 · 0.01 gives 1.0033…,
    // which rounds back to 1: the state stays at (-1, 1) where float32 would move.
    let args = try QuantizationArgs(numBits: 8, strategy: .tensor)
    var observer = try Observer(kind: .minMax, baseName: .input, args: args)
    for values: [Float] in [[1, -1], [1.5, -1.25], [1, -1]] {
      let p = try #require(try observer.observe(Tensor(shape: [1, 2], values: values, dtype: .bfloat16)))
      #expect(observer.state.minValues?.values == [-1])
      #expect(observer.state.maxValues?.values == [1])
      #expect(observer.state.maxValues?.dtype == .bfloat16)
      #expect(hexList(p.scale.values) == hexList([f32(0x3C01_0000)]))
    }
  }
}
