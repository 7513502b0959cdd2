import CalibKernels
import Testing

@testable import CalibCore

/// `quantizationParameters` runs eight elements at a time for symmetric, non-MX args with
/// float32 or FP8 scales; the lanes must give the scalar kernel's scales bit for bit.
@Suite struct QParamVectorPathTests {
  static let cases: [(String, QuantizationArgs, Float?)] = [
    ("int8 channel", try! QuantizationArgs(numBits: 8, strategy: .channel), nil),
    ("int4 group", try! QuantizationArgs(numBits: 4, groupSize: 128, strategy: .group), nil),
    ("fp8 channel", try! QuantizationArgs(numBits: 8, type: .float, strategy: .channel), nil),
    ("fp8 scales", try! QuantizationArgs(numBits: 8, strategy: .channel, scaleDType: .float8E4M3FN), nil),
    ("nvfp4", try! QuantizationArgs(numBits: 4, type: .float, groupSize: 16, strategy: .tensorGroup), 5.123),
    ("nvfp4 huge global", try! QuantizationArgs(numBits: 4, type: .float, groupSize: 16, strategy: .tensorGroup), 3e38),
    ("nvfp4 preset", nvfp4Preset, 5.123),
    ("nvfp4 preset huge global", nvfp4Preset, 3e38),
  ]

  /// The NVFP4 preset's weight arguments: FP8 scales under a global scale.
  static let nvfp4Preset = try! QuantizationArgs(
    numBits: 4, type: .float, groupSize: 16, strategy: .tensorGroup, scaleDType: .float8E4M3FN, zpDType: .float8E4M3FN)

  @Test(arguments: cases.indices)
  func lanesMatchTheScalarKernel(_ index: Int) throws {
    let (name, args, global) = Self.cases[index]
    let kernel = QParamKernel(args, globalScale: global)
    #expect(kernel.hasVectorPath, "\(name)")
    var rng = SystemRandomNumberGenerator()
    let specials: [Float] = [0, -0.0, .nan, .infinity, -.infinity, .leastNonzeroMagnitude, 1e-30, 3e38, 448 * 6, 0x1p-9, 0x1.8p-9]
    func value() -> Float {
      Bool.random(using: &rng)
        ? specials.randomElement(using: &rng)! * (Bool.random(using: &rng) ? 1 : -1)
        : Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &rng))
    }
    let n = 1003  // vector lanes and a scalar tail
    let mins = (0..<n).map { _ in value() }
    let maxs = (0..<n).map { _ in value() }
    let p = try args.quantizationParameters(
      min: Tensor(shape: [n], values: mins), max: Tensor(shape: [n], values: maxs), globalScale: global)
    for i in 0..<n {
      let (s, z) = kernel.scaleAndZeroPoint(min: mins[i], max: maxs[i])
      let got = p.scale.values[i]
      #expect(got.bitPattern == s.bitPattern || (got.isNaN && s.isNaN), "\(name) [\(i)] min \(mins[i]) max \(maxs[i]): \(got) vs \(s)")
      #expect(p.zeroPoint.values[i].bitPattern == z.bitPattern)
    }
  }

  /// `calib_symmetric_scales` (AVX-512) and its AVX2 version, each this CPU has, against
  /// the eight Swift lanes, bit for bit, NaN payloads included, on float32 and bf16 ranges.
  @Test(.needsAVX2, arguments: cases.indices, [FloatDType.float32, .bfloat16, .float16])
  func wideKernelMatchesTheLanes(_ index: Int, dtype: FloatDType) throws {
    let (name, args, global) = Self.cases[index]
    let kernel = QParamKernel(args, globalScale: global, dtype: dtype)
    #expect(kernel.wideScaleParameters(outputs: 16) != nil, "\(name)")
    var state: UInt64 = 0x2545_F491_4F6C_DD1D &+ UInt64(index)
    func next() -> UInt32 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return UInt32(truncatingIfNeeded: state >> 29)
    }
    let specials: [Float] = [0, .nan, .infinity, .leastNonzeroMagnitude, 1e-30, 3e38, 448 * 6, 0x1p-9, 0x1.8p-9, 0x1.0101p-7]
    func value() -> Float {
      let x = next() % 2 == 0
        ? specials[Int(next() % UInt32(specials.count))] * (next() % 2 == 0 ? 1 : -1)
        : Float(bitPattern: next())
      return dtype.rounded(x)
    }
    let n = 16 * 40 + 9  // sixteen-lane blocks and a tail
    let mins = (0..<n).map { _ in value() }
    let maxs = (0..<n).map { _ in value() }
    func run(width: Int) -> [UInt32] {
      var scales = [Float](repeating: 1, count: n)
      scales.withUnsafeMutableBufferPointer { s in
        kernel.parameters(mins: mins, maxs: maxs, 0..<n, scales: s.baseAddress!, zeros: nil, outputs: n, width: width)
      }
      return scales.map(\.bitPattern)
    }
    let lanes = run(width: 0)
    for width in WideKernels.runnableWidths {
      let wide = run(width: width)
      for i in 0..<n where wide[i] != lanes[i] {
        Issue.record("\(name) \(dtype) width \(width) [\(i)] min \(mins[i]) max \(maxs[i]): \(wide[i]) vs \(lanes[i])")
      }
    }
  }

  /// `calib_symmetric_scales` with the scales as E4M3FN bytes for
  /// every case whose scales are rounded to that format: each byte encodes the lanes'
  /// scale, and decodes to its bits (NaN to a NaN), at each width this CPU has; nothing
  /// outside the outputs is written.
  @Test(.needsAVX2, arguments: [FloatDType.float32, .bfloat16, .float16])
  func float8BytesEncodeTheLanesScales(dtype: FloatDType) throws {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    func next() -> UInt32 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return UInt32(truncatingIfNeeded: state >> 29)
    }
    // Ranges whose scales land on E4M3FN's subnormals, normals, its largest value, zero
    // (the epsilon) and NaN.
    let specials: [Float] = [0, .nan, .infinity, 0x1p-9, 0x1.8p-8, 0x1p-6, 0x1.4p-3, 448 * 6, 3e38, .leastNonzeroMagnitude]
    let n = 16 * 64
    let maxs = (0..<n).map { i in
      dtype.rounded(i % 3 == 0 ? specials[Int(next() % UInt32(specials.count))] : Float(bitPattern: next() & 0x7FFF_FFFF))
    }
    let mins = maxs.map { -$0 }
    let fp8Cases = Self.cases.filter { $0.1.scaleDType == .float8E4M3FN }
    #expect(fp8Cases.count >= 3)
    for (name, args, global) in fp8Cases {
      let kernel = QParamKernel(args, globalScale: global, dtype: dtype)
      var lanes = [Float](repeating: 0, count: n)
      lanes.withUnsafeMutableBufferPointer { s in
        kernel.parameters(mins: mins, maxs: maxs, 0..<n, scales: s.baseAddress!, zeros: nil, outputs: n, width: 0)
      }
      // Stored, and streamed (as for 32K outputs) from every kind of start: a line's, a
      // float's, a byte's; with zero to three vectors past the last whole line.
      for (width, outputs, start, count) in product(WideKernels.runnableWidths, [n, 1 << 15], [0, 1, 4, 36], 0..<4) {
        let count = n - 16 * count
        var wide = try #require(kernel.wideScaleParameters(outputs: outputs))
        let guardByte: UInt8 = 0xAA
        var bytes = [UInt8](repeating: guardByte, count: n + 64)
        bytes.withUnsafeMutableBufferPointer { b in
          calib_symmetric_scales(Int32(width), mins, maxs, count, &wide, nil, b.baseAddress! + start)
        }
        let comment = "\(name) \(dtype) width \(width) outputs \(outputs) start \(start) count \(count)"
        #expect(bytes[..<start].allSatisfy { $0 == guardByte } && bytes[(start + count)...].allSatisfy { $0 == guardByte }, "\(comment)")
        for i in 0..<count {
          let byte = bytes[start + i]
          let decoded = Float8E4M3.decode(byte)
          let same = lanes[i].isNaN ? decoded.isNaN : byte == Float8E4M3.encode(lanes[i]) && decoded.bitPattern == lanes[i].bitPattern
          if !same { Issue.record("\(comment) [\(i)] max \(maxs[i]): \(byte) for \(lanes[i])") }
        }
      }
    }
  }

  /// Outputs large enough to be streamed around the cache, starting at every alignment
  /// within a line, written in shares smaller than the streaming threshold (as work
  /// items write them): every slot written, the same bits as the lanes, for every case
  /// and dtype.
  @Test(.needsAVX2, arguments: [0, 1, 5, 12, 15])
  func streamedOutputsMatchTheLanes(start: Int) throws {
    for (name, args, global) in Self.cases {
      for dtype in [FloatDType.float32, .bfloat16, .float16] {
        try streamedOutputsMatchTheLanes(start: start, args: args, global: global, dtype: dtype, "\(name) \(dtype)")
      }
    }
  }

  private func streamedOutputsMatchTheLanes(
    start: Int, args: QuantizationArgs, global: Float?, dtype: FloatDType, _ comment: Comment
  ) throws {
    let kernel = QParamKernel(args, globalScale: global, dtype: dtype)
    let n = (1 << 15) + 16 * 3 + 9 + start
    // Zero ranges among them (the epsilon), and magnitudes from 2^-20 to about 2^10.
    let maxs = (0..<n).map { dtype.rounded($0 % 41 == 0 ? 0 : Float($0 % 977 + 1) * Float(sign: .plus, exponent: $0 % 23 - 20, significand: 1)) }
    let mins = maxs.map { dtype.rounded(-$0 / 2) }
    func run(width: Int) -> [UInt32] {
      var scales = [Float](repeating: .nan, count: n)
      scales.withUnsafeMutableBufferPointer { s in
        // Shares that end mid-line, so neighbours' partial lines meet.
        for first in stride(from: start, to: n, by: 10_003) {
          kernel.parameters(
            mins: mins, maxs: maxs, first..<min(n, first + 10_003), scales: s.baseAddress!, zeros: nil, outputs: n,
            width: width)
        }
      }
      return scales.map(\.bitPattern)
    }
    let lanes = run(width: 0)
    for width in WideKernels.runnableWidths {
      #expect(run(width: width) == lanes, "\(comment) width \(width)")
    }
  }
}

/// Every combination of four sequences' elements, the last varying fastest.
private func product<A, B, C, D>(_ a: [A], _ b: [B], _ c: [C], _ d: Range<D>) -> [(A, B, C, D)] where D: Strideable, D.Stride: SignedInteger {
  a.flatMap { x in b.flatMap { y in c.flatMap { z in d.map { (x, y, z, $0) } } } }
}
