@testable import CalibCore
import Testing

/// The bf16 term table (``MSEGridSearch/tabulatedTotals(_:_:_:_:_:_:_:_:_:)``) gives the
/// same float32 error sums as computing every element, bit for bit, and the search over a
/// long bf16 parameter the same range either way.
@Suite struct TermTableTests {
  /// A long bf16 sequence with a ragged end, spread over many magnitudes (both signs).
  static func values(_ n: Int) -> [Float] {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    return (0..<n).map { _ in
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      let u = Float(state >> 40) / Float(1 << 24)
      let sign: Float = state & 1 == 0 ? 1 : -1
      return BFloat16.rounded(sign * u * u * u * 6)
    }
  }

  /// Each norm's power, summed whole and in two pieces (torch's split over its threads),
  /// the second starting off the 16-term grid.
  @Test(arguments: [2.4, 2.0, 3.0], [false, true])
  func tableAndElementwiseSumsAgree(norm: Double, split: Bool) throws {
    let n = MSEGridSearch.tabulationThreshold + 12_345
    let pieces = split ? [0..<(n / 2 + 5), (n / 2 + 5)..<n] : [0..<n]
    let x = Self.values(n)
    let args = try QuantizationArgs(numBits: 8, type: .int, symmetric: true, strategy: .tensor)
    var settings = ObserverSettings()
    settings.norm = norm
    let search = MSEGridSearch(settings: settings)
    let scales: [Float] = [6 / 127, 5.2 / 127, 4.4 / 127].map(BFloat16.rounded)
    let zeros: [Float] = [0, 0, 0]
    let qdq = try #require(SymmetricIntegerQDQ<BFloat16Lanes>(args))
    let powerNorm = BFloat16.rounded(Float(norm))
    func both<P: LanePower>(_ power: P) -> ([[Float]], [[Float]]) {
      x.withUnsafeBufferPointer { p in
        scales.withUnsafeBufferPointer { s in
          zeros.withUnsafeBufferPointer { z in
            (
              search.tabulatedTotals(
                p.baseAddress!, pieces, 3, s.baseAddress!, z.baseAddress!, 6, qdq, power, BFloat16Lanes.self),
              pieces.map { piece in
                search.sequenceTotals(
                  p.baseAddress! + piece.lowerBound, piece.count, 3, s.baseAddress!, z.baseAddress!, 6, qdq, power,
                  BFloat16Lanes.self)
              }
            )
          }
        }
      }
    }
    let (table, direct) = powerNorm == 2 ? both(SquarePower()) : both(BFloat16PowerTable(norm: powerNorm))
    #expect(table.map { $0.map(\.bitPattern) } == direct.map { $0.map(\.bitPattern) })
    #expect(table.joined().allSatisfy { $0 > 0 })
  }

  /// The table covers only the magnitudes within reach: an all-zero sequence (reach 0,
  /// two entries) and one reaching bf16's largest finite value (the whole range, its
  /// overflowing terms included) sum as computing every element does.
  @Test(arguments: [Float(0), Float(bitPattern: 0x7F7F_0000)])
  func extremeReachesAgree(peak: Float) throws {
    let n = MSEGridSearch.tabulationThreshold
    let x = (0..<n).map { j in BFloat16.rounded(peak * [0, 0.5, -1, 0.25, -0.75][j % 5]) }
    let args = try QuantizationArgs(numBits: 8, type: .int, symmetric: true, strategy: .tensor)
    let search = MSEGridSearch(settings: ObserverSettings())
    let scales: [Float] = peak == 0 ? [1, 0.5] : [peak / 127, peak / 140].map(BFloat16.rounded)
    let zeros: [Float] = [0, 0]
    let qdq = try #require(SymmetricIntegerQDQ<BFloat16Lanes>(args))
    let power = BFloat16PowerTable(norm: BFloat16.rounded(2.4))
    let (table, direct) = x.withUnsafeBufferPointer { p in
      scales.withUnsafeBufferPointer { s in
        zeros.withUnsafeBufferPointer { z in
          (
            search.tabulatedTotals(p.baseAddress!, [0..<n], 2, s.baseAddress!, z.baseAddress!, peak, qdq, power, BFloat16Lanes.self),
            search.sequenceTotals(p.baseAddress!, n, 2, s.baseAddress!, z.baseAddress!, peak, qdq, power, BFloat16Lanes.self)
          )
        }
      }
    }
    #expect(table[0].map(\.bitPattern) == direct.map(\.bitPattern))
  }
}
