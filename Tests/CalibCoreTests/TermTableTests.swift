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
    // A sweep of scales, as a search's steps, so that some sums land near a bf16
    // rounding boundary and take the ordered path.
    let steps = 24
    let scales: [Float] = (0..<steps).map { BFloat16.rounded((6 - Float($0) * 0.07) / 127) }
    let zeros = [Float](repeating: 0, count: steps)
    let qdq = try #require(SymmetricIntegerQDQ<BFloat16Lanes>(args))
    let powerNorm = BFloat16.rounded(Float(norm))
    func both<P: LanePower>(_ power: P) -> ([[Float]], [[Float]]) {
      x.withUnsafeBufferPointer { p in
        scales.withUnsafeBufferPointer { s in
          zeros.withUnsafeBufferPointer { z in
            (
              search.tabulatedTotals(
                p.baseAddress!, pieces, steps, s.baseAddress!, z.baseAddress!, 6, qdq, power, BFloat16Lanes.self, BFloat16Keys.self),
              pieces.map { piece in
                search.sequenceTotals(
                  p.baseAddress! + piece.lowerBound, piece.count, steps, s.baseAddress!, z.baseAddress!, qdq, power,
                  BFloat16Lanes.self)
              }
            )
          }
        }
      }
    }
    let (table, direct) = powerNorm == 2 ? both(SquarePower()) : both(BFloat16PowerTable(norm: powerNorm))
    // The table's totals come rounded to bf16, as torch's sum of a bf16 tensor rounds.
    #expect(table.map { $0.map(\.bitPattern) } == direct.map { $0.map { BFloat16.rounded($0).bitPattern } })
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
            search.tabulatedTotals(
              p.baseAddress!, [0..<n], 2, s.baseAddress!, z.baseAddress!, peak, qdq, power, BFloat16Lanes.self,
              BFloat16Keys.self),
            search.sequenceTotals(p.baseAddress!, n, 2, s.baseAddress!, z.baseAddress!, qdq, power, BFloat16Lanes.self)
          )
        }
      }
    }
    #expect(table[0].map(\.bitPattern) == direct.map { BFloat16.rounded($0).bitPattern })
  }

  /// Counting values and bracketing the sum gives torch's bf16 sum where it can decide,
  /// and defers where the float32 order could round either way.
  @Test func countedSumsAreCertifiedOnlyAwayFromRoundingBoundaries() {
    // 1.0 is a bf16 value; 1 + 2^-8 lies halfway to the next one (1 + 2^-7).
    #expect(ValueCounts.certified(1.0, roundings: 100, dtype: .bfloat16) == 1)
    #expect(ValueCounts.certified(1 + 0x1p-8, roundings: 100, dtype: .bfloat16) == nil)
    #expect(ValueCounts.certified(1 + 0x1p-8 + 0x1p-12, roundings: 100, dtype: .bfloat16) == 1 + 0x1p-7)
    #expect(ValueCounts.certified(1 + 0x1p-8 + 0x1p-12, roundings: 1 << 12, dtype: .bfloat16) == nil)
    #expect(ValueCounts.certified(0, roundings: 100, dtype: .bfloat16) == 0)
    #expect(ValueCounts.certified(.infinity, roundings: 1, dtype: .bfloat16) == nil)
    #expect(ValueCounts.certified(3.4e38, roundings: 1 << 20, dtype: .bfloat16) == nil)

    // The bound holds for torch's own order: a long run of terms whose float32 sum drifts
    // (every term 1 + 2^-9 in an accumulator much larger than it) stays within it.
    let n = 1 << 20
    let term: Float = 1 + 0x1p-7
    var sum = TorchSum(count: n, dtype: .bfloat16)
    for _ in 0..<(n / 8) { sum.add(Lanes(repeating: term)) }
    let got = Double(sum.total())
    let exact = Double(n) * Double(term)
    let roundings = TorchSum.maximumRoundings(count: n, dtype: .bfloat16)
    #expect(abs(got - exact) <= exact * Double(roundings) * 0x1p-24)
  }

  /// The counts cover every element, in parallel parts and a ragged last one.
  @Test func valueCountsCountEveryElement() {
    let x = Self.values((1 << 20) + 777)
    let counts = x.withUnsafeBufferPointer { ValueCounts($0.baseAddress!, $0.count, BFloat16Keys.self, parallel: true) }
    #expect(counts.counts.reduce(0) { $0 + Int($1) } == x.count)
    let bits = Int(x[12_345].bitPattern >> 16)
    #expect(Int(counts.counts[bits]) == x.filter { $0.bitPattern >> 16 == bits }.count)
  }

  /// f16 parameters take the same table path with f16 keys: the same sums as computing
  /// every element, for the powers an f16 search uses (square, cube, the f16 power table),
  /// whole and split, and at the extreme reaches.
  @Test(arguments: [2.4, 2.0, 3.0], [false, true])
  func float16TableAndElementwiseSumsAgree(norm: Double, split: Bool) throws {
    let n = MSEGridSearch.tabulationThreshold + 12_345
    let pieces = split ? [0..<(n / 2 + 5), (n / 2 + 5)..<n] : [0..<n]
    let half = FloatDType.float16
    let x = Self.values(n).map { half.rounded($0 * 1.37) }
    let args = try QuantizationArgs(numBits: 8, type: .int, symmetric: true, strategy: .tensor)
    let search = MSEGridSearch(settings: ObserverSettings())
    let steps = 24
    let scales: [Float] = (0..<steps).map { half.rounded((8 - Float($0) * 0.09) / 127) }
    let zeros = [Float](repeating: 0, count: steps)
    let qdq = try #require(SymmetricIntegerQDQ<Float16Lanes>(args))
    func both<P: LanePower>(_ power: P, _ x: [Float], _ reach: Float, _ pieces: [Range<Int>]) -> ([[Float]], [[Float]]) {
      x.withUnsafeBufferPointer { p in
        scales.withUnsafeBufferPointer { s in
          zeros.withUnsafeBufferPointer { z in
            (
              search.tabulatedTotals(
                p.baseAddress!, pieces, steps, s.baseAddress!, z.baseAddress!, reach, qdq, power, Float16Lanes.self,
                Float16Keys.self),
              pieces.map { piece in
                search.sequenceTotals(
                  p.baseAddress! + piece.lowerBound, piece.count, steps, s.baseAddress!, z.baseAddress!, qdq, power,
                  Float16Lanes.self)
              }
            )
          }
        }
      }
    }
    let powerNorm = half.rounded(Float(norm))
    func check<P: LanePower>(_ power: P) {
      let (table, direct) = both(power, x, 8.22, pieces)
      #expect(table.map { $0.map(\.bitPattern) } == direct.map { $0.map { half.rounded($0).bitPattern } }, "\(norm)")
      // All zeros, and values out to f16's largest finite magnitude (overflowing terms).
      for peak in [Float(0), 65504] {
        let y = (0..<n).map { j in half.rounded(peak * [0, 0.5, -1, 0.25, -0.75][j % 5]) }
        let (t, d) = both(power, y, peak, [0..<n])
        #expect(t.map { $0.map(\.bitPattern) } == d.map { $0.map { half.rounded($0).bitPattern } }, "\(norm) \(peak)")
      }
    }
    switch powerNorm {
    case 2: check(SquarePower())
    case 3: check(CubePower())
    default: check(Float16PowerTable(norm: powerNorm))
    }
  }

  /// f16 keys: every finite f16 value's bits and back, and the largest key within a reach
  /// that lies on or between f16 values.
  @Test func float16KeysRoundTrip() {
    for key in 0..<(1 << 16) where key & 0x7FFF < 0x7C00 {
      let value = Float16Keys.lanes(from: key)[0]
      #expect(Float16Keys.key(value) == key, "\(key)")
      if key < 0x7C00 {
        #expect(Float16Keys.topKey(within: value) == key)
        if key < 0x7BFF {
          let next = Float16Keys.lanes(from: key + 1)[0]
          #expect(Float16Keys.topKey(within: (value + next) / 2) == key, "\(key)")
        }
      }
    }
    #expect(Float16Keys.topKey(within: 1e30) == 0x7BFF)
  }
}
