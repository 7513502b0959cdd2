import CalibCore
import CalibFormats
import Foundation
import Testing

/// ``FloatDType``'s bit-operation rounding against the independent bit-exact narrowing of
/// ``FloatConversion`` (CalibFormats), scalar and eight lanes, over every exponent.
@Suite struct FloatDTypeTests {
  /// Bit patterns covering every exponent with random mantissas, both signs, plus the
  /// specials.
  static let patterns: [UInt32] = {
    var generator = SystemRandomNumberGenerator()
    var out: [UInt32] = [0, 0x8000_0000, 0x7F80_0000, 0xFF80_0000, 0x7F7F_FFFF, 0x0000_0001, 0x477F_F000, 0x477F_EFFF]
    for exponent in UInt32(0)...255 {
      for _ in 0..<64 {
        let sign: UInt32 = Bool.random(using: &generator) ? 0x8000_0000 : 0
        var mantissa = UInt32.random(in: 0...0x7F_FFFF, using: &generator)
        // Exact ties for both formats now and then.
        if Bool.random(using: &generator) { mantissa = (mantissa & ~0x1FFF) | 0x1000 }
        if Bool.random(using: &generator) { mantissa = (mantissa & ~0xFFFF) | 0x8000 }
        out.append(sign | exponent << 23 | mantissa)
      }
    }
    return out
  }()

  @Test func bfloat16MatchesTheNarrowingConversion() {
    for bits in Self.patterns where !Float(bitPattern: bits).isNaN {
      let x = Float(bitPattern: bits)
      let want = FloatConversion.float(fromBFloat16: FloatConversion.bfloat16(from: x))
      #expect(FloatDType.bfloat16.rounded(x).bitPattern == want.bitPattern, "\(hexBits(x))")
      #expect(FloatDType.bfloat16.rounded(SIMD8(repeating: x))[5].bitPattern == want.bitPattern)
    }
  }

  @Test func float16MatchesTheNarrowingConversion() {
    for bits in Self.patterns where !Float(bitPattern: bits).isNaN {
      let x = Float(bitPattern: bits)
      let want = FloatConversion.float(fromHalf: FloatConversion.half(from: x))
      #expect(FloatDType.float16.rounded(x).bitPattern == want.bitPattern, "\(hexBits(x))")
      #expect(FloatDType.float16.rounded(SIMD8(repeating: x))[2].bitPattern == want.bitPattern)
    }
  }

  @Test func float32IsTheIdentityAndNaNSurvives() {
    for bits in Self.patterns {
      let x = Float(bitPattern: bits)
      #expect(FloatDType.float32.rounded(x).bitPattern == bits)
    }
    for dtype in FloatDType.allCases {
      #expect(dtype.rounded(Float.nan).isNaN)
      #expect(dtype.rounded(SIMD8<Float>(repeating: .nan))[0].isNaN)
    }
  }

  @Test func namesAndTorchDTypes() {
    #expect(FloatDType.allCases.map(\.rawValue) == ["float32", "bfloat16", "float16"])
    #expect(FloatDType.allCases.map(\.torchName) == ["torch.float32", "torch.bfloat16", "torch.float16"])
    for dtype in FloatDType.allCases { #expect(FloatDType(dtype.torchDType) == dtype) }
    #expect(FloatDType(TorchDType.float8E4M3FN) == nil)
    #expect(FloatDType.bfloat16.promoted(with: .float16) == .float32)
    #expect(FloatDType.bfloat16.promoted(with: .bfloat16) == .bfloat16)
  }

  @Test func tensorDTypeRoundTripsThroughCodable() throws {
    let t = Tensor(shape: [2], values: [1, 0.5], dtype: .bfloat16)
    let state = ObserverState(minValues: t, maxValues: t, globalMin: -1, globalMax: 1, globalDType: .bfloat16)
    let data = try JSONEncoder().encode(state)
    #expect(try JSONDecoder().decode(ObserverState.self, from: data) == state)
    // float32 encodings carry no dtype key, so older readers and stores see no change.
    let plain = String(decoding: try JSONEncoder().encode(Tensor(shape: [1], values: [2])), as: UTF8.self)
    #expect(!plain.contains("dtype"))
  }
}
