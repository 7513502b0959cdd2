@testable import CalibCore
import Testing

/// Tensors made from raw f16 bits: observers on the bits, the wide widening, and lazy
/// decoding (their min/max reductions are BFloat16TensorTests', run for both formats).
@Suite struct Float16TensorTests {
  static func randomBits(_ count: Int, seed: UInt64) -> [UInt16] {
    BFloat16TensorTests.randomBits(count, seed: seed, format: .float16)
  }

  static func floats(_ bits: [UInt16]) -> [Float] { BFloat16TensorTests.floats(bits, .float16) }

  // Strided layouts and whole tensors on f16 bits: BFloat16TensorTests, for both formats.

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
  @Test(.needsAVX512) func wideWideningMatchesTheScalarOneForEveryPattern() throws {
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
  /// `bits(ofExact:)` inverts `float(_:)` on every finite pattern of both formats, zeros
  /// and subnormals included.
  @Test(arguments: [HalfFormat.bfloat16, .float16])
  func exactBitsInvertTheWidening(format: HalfFormat) {
    let finite = (0...UInt16.max).filter { $0 & 0x7FFF < UInt16(format.infinityKey) }
    let mismatch = finite.first { format.bits(ofExact: format.float($0)) != $0 }
    #expect(mismatch == nil, "\(format): \(mismatch as Any)")
  }

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
