@testable import CalibCore
import Testing

/// The range of raw bf16 bits (``ValueRange/init(bfloat16Bits:)``) is the float range of
/// the same values, or `nil` exactly where the float reduction must decide.
@Suite struct BFloat16RangeTests {
  static func bits(_ values: [Float]) -> [UInt16] { values.map { UInt16(BFloat16.rounded($0).bitPattern >> 16) } }

  static func floats(_ bits: [UInt16]) -> [Float] { bits.map { Float(bitPattern: UInt32($0) << 16) } }

  static func range(_ bits: [UInt16]) -> ValueRange? { bits.withUnsafeBytes(ValueRange.init(bfloat16Bits:)) }

  static func floatRange(_ bits: [UInt16]) -> ValueRange { floats(bits).withUnsafeBufferPointer(ValueRange.init(of:)) }

  /// Random bit patterns of every finite kind (normal, subnormal, ±∞, both signs), many
  /// lengths (ragged ends included): the same range as the float reduction, bit for bit.
  @Test(arguments: [1, 7, 8, 9, 63, 64, 1000, 4099])
  func randomFiniteBitsGiveTheFloatRange(count: Int) throws {
    var state: UInt64 = 0xD1B5_4A32_D192_ED03 &* UInt64(count)
    for _ in 0..<50 {
      let values: [UInt16] = (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        var b = UInt16(truncatingIfNeeded: state >> 40)
        if b & 0x7FFF > 0x7F80 { b &= 0x807F }  // NaN → a subnormal or zero of either sign
        return b
      }
      let expected = Self.floatRange(values)
      guard let got = Self.range(values) else {
        // Only a zero at either end leaves the answer to the float reduction.
        #expect(expected.min == 0 || expected.max == 0)
        continue
      }
      #expect(got.min.bitPattern == expected.min.bitPattern)
      #expect(got.max.bitPattern == expected.max.bitPattern)
    }
  }

  @Test func extremesAndSpecialValues() {
    #expect(Self.range(Self.bits([1, -2, 3.5, -0.25])) == ValueRange(min: -2, max: 3.5))
    #expect(Self.range(Self.bits([-.infinity, 1, .infinity])) == ValueRange(min: -.infinity, max: .infinity))
    #expect(Self.range(Self.bits([-5, -1e-40, -3])) == ValueRange(min: -5, max: BFloat16.rounded(-1e-40)))
    #expect(Self.range([]) == .empty)
    // NaN of either sign, anywhere: the float reduction decides (and says NaN).
    #expect(Self.range(Self.bits([1, 2, 3, 4, 5, 6, 7, 8, .nan])) == nil)
    #expect(Self.range([0x3F80, 0xFFC1]) == nil)
    // A zero at either end: the float reduction decides its sign.
    #expect(Self.range(Self.bits([0, 1, 2])) == nil)
    #expect(Self.range(Self.bits([-1, -0.0])) == nil)
    #expect(Self.range(Self.bits([-1, 0, 1])) == ValueRange(min: -1, max: 1))
  }
}
