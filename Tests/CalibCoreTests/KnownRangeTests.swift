import CalibCore
import Testing

/// A range computed while decoding stands in for an observer's own pass only where the
/// observer reduces the whole value, and it gives the very same parameters there.
@Suite struct KnownRangeTests {
  static let values: [Float] = (0..<96).map { Float($0 % 13) * 0.37 - 2.1 }

  static func withRange(_ shape: [Int], _ values: [Float], dtype: FloatDType = .float32) -> Tensor {
    let range = values.withUnsafeBufferPointer { ValueRange(of: $0) }
    return Tensor(shape: shape, values: values, dtype: dtype, knownRange: range)
  }

  @Test func rangeOfChunksMergesToTheWholeRange() {
    let whole = Self.values.withUnsafeBufferPointer { ValueRange(of: $0) }
    let halves = Self.values.withUnsafeBufferPointer { p in
      ValueRange(of: UnsafeBufferPointer(rebasing: p[0..<40])).merging(ValueRange(of: UnsafeBufferPointer(rebasing: p[40...])))
    }
    #expect(whole == halves)
    #expect(whole == ValueRange(min: -2.1, max: Float(12) * 0.37 - 2.1))
    #expect(ValueRange.empty.merging(whole) == whole)
    #expect(whole.merging(ValueRange(min: .nan, max: .nan)).isNaN)
    var withNaN = Self.values
    withNaN[70] = .nan
    #expect(withNaN.withUnsafeBufferPointer { ValueRange(of: $0) }.isNaN)
  }

  @Test func equalityIgnoresTheCacheAndMutationForgetsIt() {
    var t = Self.withRange([96], Self.values)
    #expect(t.knownRange != nil)
    #expect(t == Tensor(shape: [96], values: Self.values))
    t.values[0] = 100
    #expect(t.knownRange == nil)
  }

  @Test(arguments: [ObserverKind.staticMinMax, .minMax, .memorylessMinMax, .memorylessMSE])
  func tensorStrategyGivesTheSameParameters(kind: ObserverKind) throws {
    let args = try QuantizationArgs(numBits: 8, strategy: .tensor)
    var plain = try Observer(kind: kind, baseName: .input, args: args)
    var cached = try Observer(kind: kind, baseName: .input, args: args)
    for step in 0..<3 {
      let xs = Self.values.map { $0 * Float(step + 1) }
      let a = try plain.observe(Tensor(shape: [1, 8, 12], values: xs))
      let b = try cached.observe(Self.withRange([1, 8, 12], xs))
      #expect(a == b)
    }
  }

  /// A per-channel observer must not take the whole value's range for each channel: this
  /// fails if the cache were used for any layout with more than one parameter.
  @Test func perChannelIgnoresTheWholeRange() throws {
    let args = try QuantizationArgs(numBits: 8, strategy: .channel)
    var plain = try Observer(kind: .memorylessMinMax, baseName: .weight, args: args)
    var cached = try Observer(kind: .memorylessMinMax, baseName: .weight, args: args)
    let a = try plain.observe(Tensor(shape: [8, 12], values: Self.values))
    let b = try cached.observe(Self.withRange([8, 12], Self.values))
    #expect(a == b)
  }

  @Test func nonFiniteValuesAreStillRefusedWithTheirCount() throws {
    var xs = Self.values
    xs[5] = .infinity
    xs[9] = .nan
    var o = try Observer(kind: .staticMinMax, baseName: .input, args: try QuantizationArgs(numBits: 8, strategy: .tensor))
    #expect(throws: ObserverError.nonFinite(count: 2, firstIndex: 5, shape: [1, 96])) {
      try o.observe(Self.withRange([1, 96], xs))
    }
  }
}
