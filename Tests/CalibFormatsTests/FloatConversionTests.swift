import CalibFormats
import Testing

@Suite("FloatConversion")
struct FloatConversionTests {
  @Test("bf16 widens exactly for known bit patterns")
  func bfloat16Decode() {
    let cases: [(UInt16, Float)] = [
      (0x0000, 0), (0x3F80, 1), (0xC000, -2), (0x3E80, 0.25),
      (0x7F7F, Float(bitPattern: 0x7F7F_0000)),  // max finite bf16, ≈ 3.3895e38
      (0x0001, Float(bitPattern: 0x0001_0000)),  // smallest subnormal
      (0x0080, Float.leastNormalMagnitude),
      (0x7F80, .infinity), (0xFF80, -.infinity),
    ]
    for (bits, value) in cases {
      #expect(FloatConversion.float(fromBFloat16: bits) == value, "bits \(bits)")
    }
    let negativeZero = FloatConversion.float(fromBFloat16: 0x8000)
    #expect(negativeZero == 0 && negativeZero.sign == .minus)
    #expect(FloatConversion.float(fromBFloat16: 0x7FC0).isNaN)
    #expect(FloatConversion.float(fromBFloat16: 0xFF81).isNaN)
  }

  @Test("f16 widens exactly: zeros, subnormals, normals, max, infinities, NaN")
  func halfDecode() {
    let cases: [(UInt16, Float)] = [
      (0x0000, 0), (0x3C00, 1), (0xC000, -2), (0x3555, 0x1.554p-2),
      (0x0001, 0x1p-24),  // smallest subnormal
      (0x03FF, 0x1.FF8p-15),  // largest subnormal
      (0x8001, -0x1p-24),
      (0x0400, 0x1p-14),  // smallest normal
      (0x7BFF, 65504),  // max finite
      (0xFBFF, -65504),
      (0x7C00, .infinity), (0xFC00, -.infinity),
    ]
    for (bits, value) in cases {
      #expect(FloatConversion.float(fromHalf: bits) == value, "bits \(bits)")
    }
    let negativeZero = FloatConversion.float(fromHalf: 0x8000)
    #expect(negativeZero == 0 && negativeZero.sign == .minus)
    for nan: UInt16 in [0x7E00, 0x7C01, 0xFE00, 0x7FFF] {
      #expect(FloatConversion.float(fromHalf: nan).isNaN)
    }
  }

  @Test("every f16 bit pattern survives f16 → f32 → f16")
  func halfRoundTripIsExhaustive() {
    for bits in 0...UInt16.max {
      let value = FloatConversion.float(fromHalf: bits)
      if value.isNaN {
        #expect(FloatConversion.half(from: value) & 0x7E00 == 0x7E00)
      } else if FloatConversion.half(from: value) != bits {
        Issue.record("f16 bits \(bits) came back as \(FloatConversion.half(from: value))")
      }
    }
  }

  @Test("every bf16 bit pattern survives bf16 → f32 → bf16")
  func bfloat16RoundTripIsExhaustive() {
    for bits in 0...UInt16.max {
      let value = FloatConversion.float(fromBFloat16: bits)
      if value.isNaN {
        #expect(FloatConversion.bfloat16(from: value) & 0x7FC0 == 0x7FC0)
      } else if FloatConversion.bfloat16(from: value) != bits {
        Issue.record("bf16 bits \(bits) came back as \(FloatConversion.bfloat16(from: value))")
      }
    }
  }

  @Test("f32 → bf16 rounds to nearest, ties to even")
  func bfloat16Rounding() {
    let cases: [(UInt32, UInt16)] = [
      (0x3F80_8000, 0x3F80),  // 1 + 2⁻⁸: tie, down to even
      (0x3F81_8000, 0x3F82),  // tie, up to even
      (0x3F80_8001, 0x3F81),  // just above the tie
      (0x3F80_7FFF, 0x3F80),  // just below the tie
      (0xBF80_8000, 0xBF80),  // negative tie
      (0x7F7F_7FFF, 0x7F7F),  // stays the max finite bf16
      (0x7F7F_8000, 0x7F80),  // tie above max finite: to even, which is infinity
      (0x7F7F_FFFF, 0x7F80),  // float max rounds to infinity
      (0x8000_0000, 0x8000),  // -0
      (0x0000_8000, 0x0000),  // subnormal tie to even zero
      (0x0001_8000, 0x0002),  // subnormal tie up to even
      (0x7F80_0000, 0x7F80), (0xFF80_0000, 0xFF80),
    ]
    for (input, expected) in cases {
      #expect(FloatConversion.bfloat16(from: Float(bitPattern: input)) == expected, "\(input)")
    }
  }

  @Test("f32 → bf16 keeps NaN a NaN, sign included, even for payloads only in low bits")
  func bfloat16NaN() {
    for input: UInt32 in [0x7FC0_0000, 0x7F80_0001, 0xFF80_0001, 0x7FFF_FFFF] {
      let bits = FloatConversion.bfloat16(from: Float(bitPattern: input))
      #expect(FloatConversion.float(fromBFloat16: bits).isNaN, "\(input)")
      #expect(bits & 0x8000 == UInt16(input >> 16) & 0x8000)
    }
  }

  @Test("f32 → f16 rounds to nearest, ties to even, overflowing to infinity")
  func halfRounding() {
    let cases: [(Float, UInt16)] = [
      (1 + 0x1p-11, 0x3C00),  // tie, down to even
      (1 + 0x3p-11, 0x3C02),  // tie, up to even
      (1 + 0x1p-11 + 0x1p-20, 0x3C01),  // above the tie
      (-(1 + 0x1p-11), 0xBC00),
      (65504, 0x7BFF), (65519, 0x7BFF),
      (65520, 0x7C00),  // tie between max finite and 2¹⁶: even is infinity
      (1e10, 0x7C00), (-1e10, 0xFC00), (.infinity, 0x7C00), (-.infinity, 0xFC00),
      (0x1p-24, 0x0001),  // smallest subnormal
      (0x1p-25, 0x0000),  // half of it: tie to even zero
      (0x1.8p-24, 0x0002),  // 1.5 units: tie up to even
      (0x1.4p-24, 0x0001),  // 1.25 units
      (0x1p-14 - 0x1p-25, 0x0400),  // tie between largest subnormal and smallest normal
      (0x1p-14, 0x0400), (0x1p-26, 0x0000), (-0x1p-25, 0x8000),
      (Float.leastNonzeroMagnitude, 0x0000), (-0.0, 0x8000),
      (0.1, 0x2E66), (-2, 0xC000),
    ]
    for (input, expected) in cases {
      #expect(FloatConversion.half(from: input) == expected, "\(input)")
    }
  }

  @Test("f32 → f16 keeps NaN a quiet NaN with its sign")
  func halfNaN() {
    for input: UInt32 in [0x7FC0_0000, 0x7F80_0001, 0xFF80_0001, 0x7FFF_FFFF] {
      let bits = FloatConversion.half(from: Float(bitPattern: input))
      #expect(bits & 0x7E00 == 0x7E00, "\(input)")
      #expect(bits & 0x8000 == UInt16(input >> 16) & 0x8000)
    }
  }

  #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
    @Test("f16 conversions agree with the standard library's Float16 on every pattern")
    func halfMatchesFloat16() {
      for bits in 0...UInt16.max {
        let mine = FloatConversion.float(fromHalf: bits)
        let reference = Float(Float16(bitPattern: bits))
        if mine.isNaN != reference.isNaN || (!mine.isNaN && mine != reference) {
          Issue.record("f16 bits \(bits): \(mine) vs \(reference)")
        }
      }
      // A deterministic sweep over f16's range and beyond, both signs, odd stride so that
      // the low mantissa bits (the rounding bits) take many values.
      for magnitude in stride(from: UInt32(0x3000_0000), to: 0x4800_0000, by: 4099) {
        for sign: UInt32 in [0, 0x8000_0000] {
          let x = Float(bitPattern: sign | magnitude)
          if FloatConversion.half(from: x) != Float16(x).bitPattern {
            Issue.record("\(x): \(FloatConversion.half(from: x)) vs \(Float16(x).bitPattern)")
          }
        }
      }
    }
  #endif
}
