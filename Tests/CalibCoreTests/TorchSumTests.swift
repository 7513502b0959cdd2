@testable import CalibCore
import CalibKernels
import CalibTestSupport
import Foundation
import Testing

/// ``TorchSum`` against torch's own `sum` (`Tests/Fixtures/torch-sum`, written by its
/// `generate.py` in the reference env): float32 results bit for bit, and bf16/f16 results
/// including sequences built so that their exact sum is a tie in the dtype, where only
/// torch's float32 order rounds the same way.
@Suite struct TorchSumTests {
  struct Case {
    let dtype: FloatDType
    let n: Int
    let seed: UInt32
    let bits: UInt32
    let terms: [Float]
  }

  static func cases() throws -> [Case] {
    let url = ConformanceFixture.repositoryDirectory("torch-sum").appendingPathComponent("cases.json")
    let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    return (root["cases"] as! [[Any]]).map { row in
      let dtype = FloatDType(rawValue: row[0] as! String)!
      let (n, seed) = (row[1] as! Int, UInt32(row[2] as! Int))
      let given = row.count > 4 ? (row[4] as! [Int]).map { Self.value(dtype, UInt32($0)) } : nil
      return Case(
        dtype: dtype, n: n, seed: seed, bits: UInt32(row[3] as! Int),
        terms: given ?? (0..<n).map { term(dtype, seed: seed, UInt32($0)) })
    }
  }

  /// `generate.py`'s `mix`.
  static func mix(_ seed: UInt32, _ i: UInt32) -> UInt32 {
    var h = (i &+ 1) &* 0x9E37_79B1 &+ seed &* 0x85EB_CA77
    h ^= h >> 15
    h = h &* 0x2C1B_3C6D
    h ^= h >> 12
    h = h &* 0x297A_2D39
    h ^= h >> 15
    return h
  }

  /// `generate.py`'s `term`: exact in the dtype.
  static func term(_ dtype: FloatDType, seed: UInt32, _ i: UInt32) -> Float {
    let h = mix(seed, i)
    let e = Int(h & 7)
    switch dtype {
    case .float32: return Float((h >> 8) | 0x80_0000) * Float(sign: .plus, exponent: -24 - 2 * e, significand: 1)
    case .bfloat16: return Float((h >> 25) | 0x80) * Float(sign: .plus, exponent: -8 - 2 * e, significand: 1)
    case .float16: return Float((h >> 22) | 0x400) * Float(sign: .plus, exponent: -11 - e, significand: 1)
    }
  }

  static func value(_ dtype: FloatDType, _ bits: UInt32) -> Float {
    dtype == .bfloat16 ? Float(bitPattern: bits << 16) : Float(Float16(bitPattern: UInt16(bits)))
  }

  /// The result's bits as torch stores it: float32, or the 16-bit pattern.
  static func resultBits(_ x: Float, _ dtype: FloatDType) -> UInt32 {
    switch dtype {
    case .float32: x.bitPattern
    case .bfloat16: UInt32(BFloat16.bits(x))
    case .float16: UInt32(Float16(x).bitPattern)
    }
  }

  /// Feeds `terms[range]` eight at a time where the grid allows, one by one otherwise.
  static func feed(_ sum: inout TorchSum, _ terms: [Float], _ range: Range<Int>) {
    var i = range.lowerBound
    while i + 8 <= range.upperBound {
      sum.add(Lanes(terms[i..<(i + 8)]))
      i += 8
    }
    while i < range.upperBound {
      sum.add(scalar: terms[i])
      i += 1
    }
  }

  @Test func everyCaseMatchesTorch() throws {
    let cases = try Self.cases()
    #expect(cases.count > 700)
    var wrong: [String] = []
    for c in cases {
      var sum = TorchSum(count: c.n, dtype: c.dtype)
      Self.feed(&sum, c.terms, 0..<c.n)
      let got = Self.resultBits(sum.total(), c.dtype)
      if got != c.bits { wrong.append("\(c.dtype) n=\(c.n) seed=\(c.seed): \(got) vs \(c.bits)") }
    }
    #expect(wrong.isEmpty, "\(wrong.count) wrong:\n\(wrong.prefix(20).joined(separator: "\n"))")
  }

  @Test func termsFedOneByOneGiveTheSameSum() throws {
    for c in try Self.cases() where c.n < 5000 {
      var sum = TorchSum(count: c.n, dtype: c.dtype)
      for x in c.terms { sum.add(scalar: x) }
      #expect(Self.resultBits(sum.total(), c.dtype) == c.bits, "\(c.dtype) n=\(c.n) seed=\(c.seed)")
    }
  }

  /// A whole run in one call, its ragged end included, as the MSE search adds terms.
  @Test func termsAddedInBulkGiveTheSameSum() throws {
    for c in try Self.cases() {
      var sum = TorchSum(count: c.n, dtype: c.dtype)
      c.terms.withUnsafeBufferPointer { sum.add(contentsOf: $0.baseAddress!, count: c.n) }
      #expect(Self.resultBits(sum.total(), c.dtype) == c.bits, "\(c.dtype) n=\(c.n) seed=\(c.seed)")
    }
  }

  /// Whole float32 rows summed by the C kernel (`calib_float32_rows_totals`, the MSE
  /// search's groups of 32 to 480 where the CPU has AVX2) give the general sum's bits:
  /// torch's own cases of such lengths, and every row count on terms spread over many
  /// binades, where another order would round differently; each sequence as the second
  /// step of a call whose first step is the sequence reversed.
  @Test func wholeFloat32RowsGiveTheSameSum() throws {
    #expect(TorchSum.rowsWithoutCascade(512, dtype: .float32) == nil)
    #expect(TorchSum.rowsWithoutCascade(96, dtype: .float32) == 3)
    #expect(TorchSum.rowsWithoutCascade(100, dtype: .float32) == nil)
    #expect(TorchSum.rowsWithoutCascade(128, dtype: .bfloat16) == 2)
    // Without AVX2 the search sums whole rows with the general sum: nothing else to compare.
    guard WideKernels.width >= 8 else { return }
    func direct(_ terms: [Float]) throws -> Float {
      let rows = try #require(TorchSum.rowsWithoutCascade(terms.count, dtype: .float32))
      var totals: [Float] = [.nan, .nan]
      (terms.reversed() + terms).withUnsafeBufferPointer { calib_float32_rows_totals($0.baseAddress!, rows, 2, &totals) }
      var reversed = TorchSum(count: terms.count, dtype: .float32)
      for x in terms.reversed() { reversed.add(scalar: x) }
      #expect(totals[0].bitPattern == reversed.total().bitPattern, "the first of two steps, rows \(rows)")
      return totals[1]
    }
    for c in try Self.cases() where c.dtype == .float32 && TorchSum.rowsWithoutCascade(c.n, dtype: .float32) != nil {
      #expect(try direct(c.terms).bitPattern == c.bits, "n=\(c.n) seed=\(c.seed)")
    }
    var state: UInt64 = 0x5851_F42D_4C95_7F2D
    for rows in 1..<16 {
      let terms = (0..<32 * rows).map { _ -> Float in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(sign: .plus, exponent: Int(state >> 59) - 8, significand: 1 + Float(state >> 41 & 0xFFFF) / 65536)
      }
      var sum = TorchSum(count: terms.count, dtype: .float32)
      terms.withUnsafeBufferPointer { sum.add(contentsOf: $0.baseAddress!, count: terms.count) }
      #expect(try direct(terms).bitPattern == sum.total().bitPattern, "rows \(rows)")
    }
  }

  @Test func partsSummedApartAndMergedGiveTheSameSum() throws {
    var split = 0
    for c in try Self.cases() {
      let block = TorchSum(count: c.n, dtype: c.dtype).blockTerms
      let rowsEnd = TorchSum(count: c.n, dtype: c.dtype).rowLoads * (c.dtype == .float32 ? 8 : 16)
      guard rowsEnd >= 2 * block else { continue }
      var starts = Array(stride(from: 0, through: rowsEnd, by: block))
      if starts.last == c.n { starts.removeLast() }
      let parts = starts.enumerated().map { k, start in
        var part = TorchSum(count: c.n, dtype: c.dtype, startingAt: start)
        Self.feed(&part, c.terms, start..<(k + 1 < starts.count ? starts[k + 1] : c.n))
        return part
      }
      split += 1
      var merged = TorchSum.merging(parts)
      #expect(Self.resultBits(merged.total(), c.dtype) == c.bits, "\(c.dtype) n=\(c.n)")
    }
    #expect(split >= 4)
  }

  /// Single-output sums with 2 to 4 torch threads: torch's two-pass split.
  @Test func threadedSumsMatchTorch() throws {
    let url = ConformanceFixture.repositoryDirectory("torch-sum").appendingPathComponent("cases.json")
    let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    let rows = root["threaded"] as! [[Any]]
    #expect(rows.count >= 45)
    var split = 0
    for row in rows {
      let dtype = FloatDType(rawValue: row[0] as! String)!
      let (n, seed, threads) = (row[1] as! Int, UInt32(row[2] as! Int), TorchThreads(row[3] as! Int))
      let terms = (0..<n).map { Self.term(dtype, seed: seed, UInt32($0)) }
      var result: Float
      if let pieces = threads.ranges(summing: n) {
        split += 1
        let partials = pieces.map { piece in
          var sum = TorchSum(count: piece.count, dtype: dtype)
          Self.feed(&sum, Array(terms[piece]), 0..<piece.count)
          return dtype.rounded(sum.total())
        }
        result = threads.combining(partials, dtype: dtype)
      } else {
        var sum = TorchSum(count: n, dtype: dtype)
        Self.feed(&sum, terms, 0..<n)
        result = sum.total()
      }
      #expect(Self.resultBits(result, dtype) == UInt32(row[4] as! Int), "\(dtype) n=\(n) threads=\(threads.count)")
    }
    #expect(split >= 36)
  }

  /// One thread, or fewer elements than torch's grain size: no split.
  @Test func smallOrSingleThreadedSumsAreNotSplit() {
    #expect(TorchThreads(1).ranges(summing: 1 << 20) == nil)
    #expect(TorchThreads(8).ranges(summing: 32_767) == nil)
    #expect(TorchThreads(8).ranges(summing: 40_000) == [0..<20_000, 20_000..<40_000])
    #expect(TorchThreads(0).count == 1)
  }
}
