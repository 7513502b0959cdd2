import CalibFormats
import Testing

@testable import CalibStore

/// The scan counts by exponent bits, 64-bit words at a time with a tail: every position
/// (word lanes and tail) and every special value must be found, and near misses not.
@Suite struct NonFiniteCountTests {
  struct Format: Sendable, CustomTestStringConvertible {
    let dtype: ElementType
    let finite: UInt32  // largest finite magnitude: all exponent bits but one mantissa
    let nan: UInt32
    let inf: UInt32
    let negativeInf: UInt32
    var testDescription: String { dtype.rawValue }
  }

  static let formats = [
    Format(dtype: .bf16, finite: 0x7F7F, nan: 0x7FC0, inf: 0x7F80, negativeInf: 0xFF80),
    Format(dtype: .f16, finite: 0x7BFF, nan: 0x7E00, inf: 0x7C00, negativeInf: 0xFC00),
    Format(dtype: .f32, finite: 0x7F7F_FFFF, nan: 0x7FC0_0000, inf: 0x7F80_0000, negativeInf: 0xFF80_0000),
  ]

  private func bytes(_ words: [UInt32], _ dtype: ElementType) -> [UInt8] {
    words.flatMap { w in (0..<dtype.byteWidth).map { UInt8(truncatingIfNeeded: w >> (8 * $0)) } }
  }

  @Test(arguments: formats)
  func findsEachSpecialValueAtEveryPosition(_ f: Format) {
    for count in 0..<23 {
      // Finite neighbours that share most exponent bits with the specials.
      let base = (0..<count).map { $0 % 2 == 0 ? f.finite : f.finite ^ (f.inf >> 1) }
      #expect(bytes(base, f.dtype).withUnsafeBytes { NonFiniteCount.count($0, dtype: f.dtype) } == (0, 0))
      for position in 0..<count {
        for (special, expected) in [(f.nan, (1, 0)), (f.inf, (0, 1)), (f.negativeInf, (0, 1))] {
          var words = base
          words[position] = special
          let counted = bytes(words, f.dtype).withUnsafeBytes { NonFiniteCount.count($0, dtype: f.dtype) }
          #expect(counted == expected, "\(count) elements, special at \(position)")
        }
      }
    }
  }

  @Test func countsSeveralAndMixed() {
    let words: [UInt32] = [0x7FC0, 0x3F80, 0x7F80, 0xFF80, 0x7FC1, 0x0000, 0x8000, 0x7F81, 0x4000]
    let bf16 = words.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
    #expect(bf16.withUnsafeBytes { NonFiniteCount.count($0, dtype: .bf16) } == (3, 2))
  }
}
