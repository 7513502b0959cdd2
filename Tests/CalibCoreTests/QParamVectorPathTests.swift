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
  ]

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
}
