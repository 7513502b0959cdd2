import Testing

@testable import CalibCore

/// Tensors that hold FP8 bytes or one repeated value decode them on first read, exactly,
/// and behave as the float32 tensor of those values everywhere else.
@Suite struct DeferredValuesTests {
  /// Every byte decodes as `Float8E4M3.decode` does, NaN bytes to NaN; copies share the
  /// bytes, and changing a value drops them.
  @Test func float8BytesDecodeExactly() {
    let bytes = (0...255).map(UInt8.init)
    let t = Tensor(shape: [16, 16], float8E4M3Bits: bytes, dtype: .bfloat16)
    #expect(t.elementCount == 256 && t.dtype == .bfloat16)
    for (b, v) in zip(bytes, t.values) {
      let d = Float8E4M3.decode(b)
      #expect(d.isNaN ? v.isNaN : v.bitPattern == d.bitPattern, "\(b)")
      // Every E4M3FN value is a bf16 and an f16 value.
      #expect(d.isNaN || (FloatDType.bfloat16.represents(d) && FloatDType.float16.represents(d)), "\(b)")
    }
    var u = t
    #expect(u.float8E4M3Bits == bytes)
    u.values[1] = 3
    #expect(u.float8E4M3Bits == nil && u.values[1] == 3)
    #expect(t.float8E4M3Bits == bytes && t.values[1] == 0x1p-9)
  }

  /// A repeated value reads as the filled array, compares equal to it, and changes in place.
  @Test func repeatedValueIsTheFilledArray() {
    var t = Tensor(shape: [3, 2], repeating: 0)
    #expect(t.elementCount == 6 && t.dtype == .float32)
    #expect(t == Tensor(shape: [3, 2], values: [Float](repeating: 0, count: 6)))
    t.values[5] = -1
    #expect(t.values == [0, 0, 0, 0, 0, -1])
    #expect(Tensor(shape: [0, 4], repeating: 7).isEmpty)
    #expect(Tensor(shape: [], repeating: 2).values == [2])
  }

  /// The NVFP4 preset's weight parameters from a min/max observer hold FP8 scales and
  /// repeated zero points, whose values are those of the float32 path.
  @Test func nvfp4ParametersAreCompact() throws {
    let args = QParamVectorPathTests.nvfp4Preset
    let values: [Float] = (0..<4096).map { (i: Int) -> Float in
      let k: Int = (i * 37) % 101 - 50
      return Float(k) / 8
    }
    let w = Tensor(shape: [64, 64], values: values)
    var observer = try Observer(kind: .memorylessMinMax, baseName: .weight, args: args)
    let g = try #require(try observer.observeGlobalScale(w))
    let p = try #require(try observer.observe(w, globalScale: g))
    #expect(p.scale.float8E4M3Bits?.count == 64 * 4)
    #expect(p.zeroPoint.values == [Float](repeating: 0, count: 64 * 4))
    let (global, separate) = try GroupMagnitudesTests.expected(w, args)
    #expect(global.bitPattern == g.bitPattern)
    expectSameParameters(p, separate, "nvfp4 preset")
  }
}
