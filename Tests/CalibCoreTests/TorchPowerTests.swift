import CalibKernels
@testable import CalibCore
import Testing

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// ``TorchPower`` gives torch's own float32 `pow(x, 2.4)` bits (torch 2.10, AVX-512), including
/// where torch is not correctly rounded, at every vector width.
@Suite struct TorchPowerTests {
  /// (x, torch.pow(x, 2.4)) as bit patterns: torch's output for typical MSE differences,
  /// the first 24 marked where glibc's `powf` (correctly rounded there) gives another
  /// float, then special and edge values: 0, 1, a subnormal, results that underflow to 0
  /// or to a subnormal, large and overflowing ones, +∞ and the ends of [0.75, 1.5).
  static let torchBits: [(UInt32, UInt32)] = [
    (0x3A19_5D21, 0x3295_B3CA), (0x38E2_7957, 0x2FA6_12F2), (0x3CA2_1609, 0x38AA_F4A9),
    (0x3C73_87E7, 0x382C_19AB), (0x3D85_2DCD, 0x3AB9_C3BE), (0x3C27_7AE9, 0x378C_2672),
    (0x3A8E_5A89, 0x33A5_314B), (0x3B86_8D8A, 0x35FB_3B1C), (0x3CCD_15F1, 0x3916_5A14),
    (0x3C40_91C1, 0x37C3_ECF0), (0x3CE3_CF1A, 0x3941_7AA3), (0x3B6F_C87D, 0x35BE_77E0),
    (0x3C34_FDA1, 0x37A8_D53A), (0x3D0F_318B, 0x39A7_8A97), (0x3C65_8BDC, 0x3815_53EB),
    (0x3B99_2FB9, 0x362B_7C65), (0x3C0E_2EA6, 0x373D_355D), (0x3CE4_96B0, 0x3943_126F),
    (0x3C7D_4454, 0x383D_13DF), (0x3B05_D50D, 0x34BB_F58B), (0x39BC_55A0, 0x31B9_BE4C),
    (0x3D11_90E6, 0x39AE_47EB), (0x3CE0_BA88, 0x393B_4275), (0x3CA4_9044, 0x38B1_4B52),
    (0x37CE_62AF, 0x2D18_A61C), (0x3BC3_C92F, 0x369A_8183), (0x3BB3_A8B3, 0x367B_682D),
    (0x3C91_EA21, 0x3884_D72E), (0x3C14_FC8D, 0x3753_AC2F), (0x3CA2_78AC, 0x38AB_EEC2),
    (0x3A9D_A9B0, 0x33D3_159D), (0x3CDB_94B3, 0x3931_2120),
    (0x0000_0000, 0x0000_0000), (0x3F80_0000, 0x3F80_0000), (0x0001_16C2, 0x0000_0000),
    (0x1E3C_E508, 0x0000_0000), (0x20B1_16B8, 0x0000_0003), (0x4000_0000, 0x40A8_E5A3),
    (0x5015_02F9, 0x6753_C23A), (0x7F7F_C99E, 0x7F80_0000), (0x7F80_0000, 0x7F80_0000),
    (0x3F40_0000, 0x3F00_58ED), (0x3FC0_0000, 0x4029_5AFB), (0x3FBF_FFFF, 0x4029_5AF9),
  ]

  static let norm: Float = 2.4

  @Test func scalarGivesTorchBits() {
    for (x, expected) in Self.torchBits {
      let got = TorchPower.power(Float(bitPattern: x), Self.norm).bitPattern
      #expect(got == expected, "x 0x\(String(x, radix: 16)): 0x\(String(got, radix: 16)), torch 0x\(String(expected, radix: 16))")
    }
  }

  /// The fixture would catch a correctly rounded power: most of its first entries differ.
  @Test func fixtureTellsTorchFromACorrectlyRoundedPower() {
    let differing = Self.torchBits.prefix(24).filter { x, expected in
      powf(Float(bitPattern: x), Self.norm).bitPattern != expected
    }
    #expect(differing.count >= 12)
  }

  /// Every width (16, 8, one lane, the Swift lanes) gives the same bits, over a ragged
  /// array of magnitudes from underflow to overflow, at several norms.
  @Test func widthsAgree() {
    var state: UInt32 = 0x9E37_79B9
    let x: [Float] = (0..<1037).map { _ in
      state = state &* 1_664_525 &+ 1_013_904_223
      return Float(bitPattern: state & 0x7FFF_FFFF)
    }.filter { $0.isFinite } + Self.torchBits.map { Float(bitPattern: $0.0) }
    for norm: Float in [2.4, 0.3, 1, 2.40625, 7.5] {
      let scalar = x.map { TorchPower.power($0, norm).bitPattern }
      for width: Int32 in [16, 8, 1] where Int(width) <= Swift.max(1, WideKernels.width) {
        var out = [Float](repeating: .nan, count: x.count)
        x.withUnsafeBufferPointer { p in
          out.withUnsafeMutableBufferPointer { calib_torch_pow(width, p.baseAddress!, $0.baseAddress!, x.count, norm) }
        }
        #expect(out.map(\.bitPattern) == scalar, "width \(width), norm \(norm)")
      }
      #expect(TorchPower.powers(x, norm).map(\.bitPattern) == scalar, "powers, norm \(norm)")
      let power = TorchPower(norm: norm)
      var lanes: [UInt32] = []
      for start in stride(from: 0, to: x.count - 7, by: 8) {
        let v = Lanes((0..<8).map { x[start + $0] })
        let t = power.raised(v)
        lanes += (0..<8).map { t[$0].bitPattern }
      }
      #expect(lanes == Array(scalar.prefix(lanes.count)), "lanes, norm \(norm)")
    }
  }

  /// torch's `pow_(3)` on bf16 multiplies in bf16, rounding each product: (d, torch's bits)
  /// where the correctly rounded cube is another bf16.
  @Test func bfloat16CubeRoundsEachProduct() {
    let table = BFloat16PowerTable(norm: 3)
    for (d, expected) in [(0x3C15, 0x3549), (0x3C54, 0x3612), (0x3C62, 0x3631), (0x3C85, 0x368F), (0x3CA8, 0x3710)] as [(UInt32, UInt32)] {
      let t = table.finish(table.begin(Lanes(repeating: Float(bitPattern: d << 16))))
      #expect(t[0].bitPattern == expected << 16, "d 0x\(String(d, radix: 16))")
    }
  }

  /// The f16 table holds torch's power rounded to f16 for every f16 value, and finds each
  /// value at its own bit pattern.
  @Test func float16TableCoversEveryValue() {
    let norm = FloatDType.float16.rounded(2.4)
    let table = Float16PowerTable(norm: norm)
    let values = Float16Keys.values
    for start in stride(from: 0, to: values.count, by: 8) {
      var lanes = Lanes(repeating: 0)
      for k in 0..<Swift.min(8, values.count - start) { lanes[k] = values[start + k] }
      let index = Float16Keys.index(lanes)
      let terms = table.raised(lanes)
      for k in 0..<Swift.min(8, values.count - start) {
        #expect(Int(index[k]) == start + k)
        let expected = BFloat16.halfRounded(TorchPower.power(values[start + k], norm))
        #expect(terms[k].bitPattern == expected.bitPattern, "f16 0x\(String(start + k, radix: 16))")
      }
    }
  }
}
