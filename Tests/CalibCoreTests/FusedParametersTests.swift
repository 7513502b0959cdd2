import Testing

@testable import CalibCore

/// A memoryless min/max observer computes its scales inside the range pass's work items
/// (`Observer.fusedParameters`): the same bits as the separate passes, and the same error
/// for a value that is not finite, wherever the culprit lies.
@Suite struct FusedParametersTests {
  /// Several work items' worth of groups (2,048 groups of 128 per item), and channels.
  static let shapes: [[Int]] = [[5000, 128], [40, 7 * 1024 + 16]]

  static func values(count: Int, seed: UInt64) -> [Float] {
    var state = seed
    return (0..<count).map { _ in
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Float(Int(state >> 40) - (1 << 23)) / Float(1 << 20)
    }
  }

  static func tensor(_ shape: [Int], _ values: [Float], _ dtype: FloatDType) -> Tensor {
    switch dtype {
    case .bfloat16: Tensor(shape: shape, bfloat16Bits: values.map(BFloat16.bits))
    case .float16: Tensor(shape: shape, float16Bits: values.map { Float16($0).bitPattern })
    case .float32: Tensor(shape: shape, values: values)
    }
  }

  @Test(arguments: [FloatDType.float32, .bfloat16, .float16], [true, false])
  func fusedPassMatchesTheSeparatePasses(dtype: FloatDType, symmetric: Bool) throws {
    for (k, shape) in Self.shapes.enumerated() {
      let grouped = shape[1] == 128
      let args = try QuantizationArgs(
        numBits: grouped ? 4 : 8, symmetric: symmetric, groupSize: grouped ? 128 : nil,
        strategy: grouped ? .group : .channel)
      let value = Self.tensor(shape, Self.values(count: shape[0] * shape[1], seed: UInt64(k + 1)), dtype)
      var observer = try Observer(kind: .memorylessMinMax, baseName: .weight, args: args)
      let layout = try GroupLayout(shape: shape, baseName: .weight, args: args)
      let fused = try #require(try observer.fusedParameters(value, layout: layout, globalScale: nil))
      let observed = try #require(try observer.observe(value))
      // The range pass on the decoded values, whatever the tensor holds.
      let (mn, mx) = RangeReduction.minMax(Tensor(shape: shape, values: value.values, dtype: value.dtype), layout: layout)
      let separate = try args.quantizationParameters(
        min: Tensor(shape: layout.qparamShape, values: mn, dtype: value.dtype),
        max: Tensor(shape: layout.qparamShape, values: mx, dtype: value.dtype))
      for p in [fused, observed] { expectSameParameters(p, separate, "\(shape) \(dtype)") }
    }
  }

  /// Groups of 128 and of 16 (whose kernels find each item's lowest minimum and highest
  /// maximum on the way, which then decide the check), each poison alone and an infinity
  /// beside a NaN.
  @Test(arguments: [FloatDType.float32, .bfloat16, .float16], [128, 16])
  func aNonFiniteValueInAnyItemThrows(dtype: FloatDType, groupSize: Int) throws {
    let shape = Self.shapes[0]
    let args = try QuantizationArgs(numBits: 4, groupSize: groupSize, strategy: .group)
    let clean = Self.values(count: shape[0] * shape[1], seed: 9)
    // The first element, one inside the second work item (256K values), and the last.
    let poisons: [[(Int, Float)]] = [
      [(0, .nan)], [(2048 * 128 + 77, .infinity)], [(clean.count - 1, -.infinity)],
      [(2048 * 128 + 1, .infinity), (2048 * 128 + 3, .nan)], [(5, -.infinity), (2048 * 128 + 3, -.nan)],
    ]
    for poison in poisons {
      var values = clean
      for (position, value) in poison { values[position] = value }
      var observer = try Observer(kind: .memorylessMinMax, baseName: .weight, args: args)
      let error = ObserverError.nonFinite(count: poison.count, firstIndex: poison[0].0, shape: shape)
      #expect(throws: error, "\(dtype) \(groupSize) \(poison)") {
        try observer.observe(Self.tensor(shape, values, dtype))
      }
    }
  }

  @Test func otherObserversAndStrategiesTakeTheSeparatePasses() throws {
    let value = Tensor(shape: [64, 32], values: Self.values(count: 64 * 32, seed: 3))
    let group = try QuantizationArgs(numBits: 4, groupSize: 16, strategy: .group)
    let layout = try GroupLayout(shape: value.shape, baseName: .weight, args: group)
    let accumulating = try Observer(kind: .staticMinMax, baseName: .weight, args: group)
    #expect(try accumulating.fusedParameters(value, layout: layout, globalScale: nil) == nil)
    let nvfp4 = try QuantizationArgs(numBits: 4, type: .float, groupSize: 16, strategy: .tensorGroup)
    let memoryless = try Observer(kind: .memorylessMinMax, baseName: .weight, args: nvfp4)
    #expect(try memoryless.fusedParameters(value, layout: layout, globalScale: 1) == nil)
    let tensor = try QuantizationArgs(numBits: 8, strategy: .tensor)
    let whole = try Observer(kind: .memorylessMinMax, baseName: .weight, args: tensor)
    let wholeLayout = try GroupLayout(shape: value.shape, baseName: .weight, args: tensor)
    #expect(try whole.fusedParameters(value, layout: wholeLayout, globalScale: nil) == nil)
  }
}
