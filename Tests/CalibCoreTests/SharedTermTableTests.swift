@testable import CalibCore
import Testing

/// Parameters that share a scale share a term table
/// (``MSEGridSearch/sharedTableParameters(_:_:_:_:_:_:_:_:into:)``): every error the
/// tables give is bit for bit the error computed element by element, whether the
/// parameter's sum goes lane by lane (whole rows) or through ``TorchSum``, and a bucket
/// too small for a table is computed element by element among tabulated ones.
@Suite struct SharedTermTableTests {
  /// A `rows × cols` bf16 weight whose groups (of `groupSize`, or whole rows) take one of
  /// four ranges (±peak at the last element, ∓0.75 · peak at the first), so that few
  /// scales and zero points are shared by many groups, except every 97th group, whose
  /// peak is its own. The other values spread over many magnitudes and both signs, with
  /// exact zeros of both signs among them.
  static func weight(rows: Int, cols: Int, groupSize: Int) -> [Float] {
    var state: UInt64 = 0x2545_F491_4F6C_DD1D
    func next() -> Float {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Float(state >> 40) / Float(1 << 24)
    }
    let peaks: [Float] = [0.031, 0.047, 0.052, 0.088]
    var values = [Float](repeating: 0, count: rows * cols)
    for group in 0..<(rows * cols / groupSize) {
      let peak = group % 97 == 0 ? 0.02 + next() * 0.1 : peaks[group % peaks.count]
      for j in 0..<groupSize {
        let u = next()
        var v = (next() < 0.5 ? -1 : 1) * 0.7 * peak * u * u * u
        if j == 0 { v = group % 2 == 0 ? -0.75 * peak : 0.75 * peak }
        if j == 3 { v = 0 }
        if j == 5 { v = -0.0 }
        if j == groupSize - 1 { v = group % 2 == 0 ? peak : -peak }
        values[group * groupSize + j] = BFloat16.rounded(v)
      }
    }
    return values
  }

  struct Case: CustomTestStringConvertible, Sendable {
    var cols: Int
    var groupSize: Int?
    var bits: Int
    var norm: Double
    var symmetric = true
    var testDescription: String {
      "cols \(cols), group \(groupSize.map(String.init) ?? "channel"), int\(bits)\(symmetric ? "" : " asym"), norm \(norm)"
    }
  }

  static let cases: [Case] = [
    Case(cols: 512, groupSize: 128, bits: 4, norm: 2.4),  // whole rows: lane-by-lane sums
    Case(cols: 512, groupSize: 64, bits: 4, norm: 2.0),  // one row, norm 2 (no power table)
    Case(cols: 480, groupSize: 96, bits: 8, norm: 2.4),  // a ragged row: TorchSum
    Case(cols: 512, groupSize: 32, bits: 4, norm: 3.0),  // fewer terms than a row
    Case(cols: 1024, groupSize: nil, bits: 4, norm: 2.4),  // channels of 1,024: a cascade step
    Case(cols: 512, groupSize: 128, bits: 4, norm: 2.4, symmetric: false),  // zero points too
    Case(cols: 480, groupSize: 96, bits: 8, norm: 2.0, symmetric: false),
  ]

  @Test(arguments: cases)
  func sharedTablesMatchElementwiseErrors(_ c: Case) throws {
    let rows = 768
    let group = c.groupSize ?? c.cols
    let x = Self.weight(rows: rows, cols: c.cols, groupSize: group)
    let args = try QuantizationArgs(
      numBits: c.bits, type: .int, symmetric: c.symmetric, groupSize: c.groupSize,
      strategy: c.groupSize == nil ? .channel : .group)
    let layout = try GroupLayout(shape: [rows, c.cols], baseName: .weight, args: args)
    var settings = ObserverSettings()
    settings.norm = c.norm
    let search = MSEGridSearch(settings: settings)
    var rawMin = [Float](repeating: .infinity, count: layout.count)
    var rawMax = [Float](repeating: -.infinity, count: layout.count)
    for (i, v) in x.enumerated() {
      (rawMin[i / group], rawMax[i / group]) = (min(rawMin[i / group], v), max(rawMax[i / group], v))
    }
    let steps = 6
    let candidates = Candidates(
      args: args, globalScale: nil, optimizingGlobalScale: false,
      factors: (0..<steps).map { settings.shrinkFactor($0) }, rawMin: rawMin, rawMax: rawMax, dtype: .bfloat16)
    #expect(search.sumsWholeParameters(layout))
    let sequences = x.withUnsafeBufferPointer { BFloat16Sequences(SharedPointer($0.baseAddress!), layout, parallel: true) }
    let power = search.powerTableForBFloat16()
    let shared = search.errorTable(
      x, layout: layout, args: args, steps: steps, candidates: candidates, powerTable: power, sequences: sequences)
    let direct = search.errorTable(x, layout: layout, args: args, steps: steps, candidates: candidates, powerTable: power)
    #expect(shared.map(\.bitPattern) == direct.map(\.bitPattern))

    // The case exercises both paths: most parameters share a table, a few have their own
    // scale and too few elements for one.
    let scales = (0..<layout.count).map { candidates.parameters(step: 0, $0).0 }
    let zeros = (0..<layout.count).map { candidates.parameters(step: 0, $0).1 }
    #expect(zeros.contains { $0 != 0 } == !c.symmetric)
    let qdq = try #require(IntegerQDQ<BFloat16Lanes>(args))
    let tables = scales.withUnsafeBufferPointer { s in
      zeros.withUnsafeBufferPointer { z in
        TermTables(
          ScaleBuckets(s.baseAddress!, z.baseAddress!, count: layout.count), scales: s.baseAddress!,
          zeros: z.baseAddress!, sequences, qdq, SquarePower())
      }
    }
    defer { tables.deallocate() }
    let tabulated = (0..<layout.count).filter { tables.width[Int(tables.bucketOf[$0])] > 0 }.count
    #expect(tabulated > layout.count / 2)
    #expect(tabulated < layout.count)
  }

  /// The lane-by-lane row sum adds exactly as ``TorchSum`` does, for every row count it
  /// takes, and so does the AVX-512 one where the CPU has it (width 16); float32 terms of
  /// many magnitudes make any other order show.
  @Test(arguments: 1..<16, [0, 16].filter { $0 <= WideKernels.width })
  func rowSumAddsInTorchOrder(rows: Int, width: Int) {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(rows)
    func next() -> UInt64 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return state >> 33
    }
    // bf16 terms over 24 binades: many float32 additions round.
    var table = (0..<512).map { _ in UInt16(0x3F80 + next() % (24 << 7)) }
    table[0] = 0
    let n = 64 * rows
    #expect(TorchSum.rowsWithoutCascade(n, dtype: .bfloat16) == rows)
    func sums(_ keys: [UInt16]) -> (got: Float, expected: Float) {
      var sum = TorchSum(count: n, dtype: .bfloat16)
      for j in 0..<n { sum.add(scalar: Float(bitPattern: UInt32(table[Int(keys[j])]) << 16)) }
      let got = table.withUnsafeBufferPointer { t in
        keys.withUnsafeBufferPointer { k in
          SharedTableStep.Lookup(UnsafeMutablePointer(mutating: t.baseAddress!), low: 0).rowSum(k.baseAddress!, rows: rows, width: width)
        }
      }
      return (got, sum.total())
    }
    // Every position live.
    let all = sums((0..<n).map { _ in UInt16(1 + next() % 511) })
    #expect(all.got.bitPattern == all.expected.bitPattern)
    // One accumulator lane live (key 0 is a zero term), so that the order of its own
    // additions decides the result instead of vanishing in the total's rounding.
    let (lane, column) = (rows % 8, rows % 4)
    let one = sums((0..<n).map { j in j % 64 % 8 == lane && j % 64 / 16 == column ? UInt16(1 + next() % 511) : 0 })
    #expect(one.got.bitPattern == one.expected.bitPattern)
  }

  /// The copy keeps every value's magnitude and sign as its key and finds each
  /// sequence's magnitude range.
  @Test func sequencesKeepBitsAndMagnitudeRanges() throws {
    let x: [Float] = [0.5, -0.0, -3, 1e-3, 0, 2, -0.25, 7, 1, -1].map(BFloat16.rounded)
    let args = try QuantizationArgs(numBits: 4, type: .int, symmetric: true, groupSize: 5, strategy: .group)
    let layout = try GroupLayout(shape: [1, 10], baseName: .weight, args: args)
    let sequences = x.withUnsafeBufferPointer { BFloat16Sequences(SharedPointer($0.baseAddress!), layout, parallel: false) }
    #expect(sequences.keys == x.map { UInt16($0.magnitude.bitPattern >> 15) | ($0.sign == .minus ? 1 : 0) })
    #expect(sequences.lowest == [0, 0x3E80])
    #expect(sequences.highest == [0x4040, 0x40E0])
  }

  /// Parameters share a bucket exactly when their scales and zero points share their top
  /// 16 bits; buckets are numbered in the order of their first parameter, through the
  /// dense map (one zero point key) and through the dictionary (several, -0 among them).
  @Test(arguments: [false, true])
  func bucketsGroupEqualScalesAndZeroPoints(severalZeroPoints: Bool) {
    let scales: [Float] = [0.5, 0.25, 0.5, 0.5 + 0x1p-20, 3, 0.25, 3, 0.5]
    let zeros: [Float] = severalZeroPoints ? [0, 0, 1, 0, 0, -0.0, 0, 1] : Array(repeating: 0, count: 8)
    let buckets = scales.withUnsafeBufferPointer { s in
      zeros.withUnsafeBufferPointer { z in ScaleBuckets(s.baseAddress!, z.baseAddress!, count: 8) }
    }
    // 0.5 + 2^-20 shares 0.5's top bits: the same bucket (TermTables then finds the
    // differing low bits and computes that bucket element by element).
    if severalZeroPoints {
      #expect(buckets.bucketOf == [0, 1, 2, 0, 3, 4, 3, 2])
      #expect(buckets.first == [0, 1, 2, 4, 5])
    } else {
      #expect(buckets.bucketOf == [0, 1, 0, 0, 2, 1, 2, 0])
      #expect(buckets.first == [0, 1, 4])
    }
  }

  /// The patience scan lowers every best to its row's error and reports whether any fell
  /// strictly: a tie is not an improvement, and the ragged tail past the last 16 counts.
  @Test func lowerReportsStrictImprovementsOnly() {
    var best = (0..<37).map { Float($0) }
    let tie = best
    #expect(!MSEGridSearch.lower(&best, to: tie, 37))
    var row = tie
    row[36] = 35.5
    #expect(MSEGridSearch.lower(&best, to: row, 37))
    #expect(best[36] == 35.5 && best[0..<36] == tie[0..<36])
    row = tie.map { $0 + 1 }
    row[3] = 2.5
    #expect(MSEGridSearch.lower(&best, to: row, 37))
    #expect(best[3] == 2.5 && best[4] == 4 && best[36] == 35.5)
  }

  /// A table whose entries for values that quantize to 0 come from ``ZeroTerms`` holds
  /// the same bits as one computed entry by entry, for symmetric and asymmetric levels,
  /// scales at which nothing, something or everything quantizes to 0, and a zero point
  /// at the edge of the levels.
  @Test(arguments: [true, false])
  func zeroTermsMatchComputedEntries(symmetric: Bool) throws {
    let args = try QuantizationArgs(numBits: 4, type: .int, symmetric: symmetric, groupSize: 64, strategy: .group)
    let qdq = try #require(IntegerQDQ<BFloat16Lanes>(args))
    let power = BFloat16PowerTable(norm: BFloat16.rounded(2.4))
    // One parameter spanning magnitudes from 2^-20 to 4 (keys of both signs).
    func value(_ k: Int) -> Float {
      let magnitude = Float(sign: .plus, exponent: k % 23 - 20, significand: 1)
      return k % 2 == 0 ? magnitude : -magnitude
    }
    let values = (0..<64).map(value)
    let layout = try GroupLayout(shape: [1, 64], baseName: .weight, args: args)
    let sequences = values.withUnsafeBufferPointer { BFloat16Sequences(SharedPointer($0.baseAddress!), layout, parallel: false) }
    let zeroTerms = ZeroTerms(sequences, power, BFloat16Lanes.self)
    defer { zeroTerms.deallocate() }
    let (low, high) = (sequences.lowest[0], sequences.highest[0])
    let width = Int(high) - Int(low) + 1
    let zeroPoints: [Float] = symmetric ? [0] : [0, 3, -8, 7]
    for scale: Float in [0x1p-30, 0x1p-12, 0.01, 0.5, 0x1p20] {
      for zero in zeroPoints {
        var tables = [[UInt16]](repeating: [UInt16](repeating: 0, count: 2 * width + 16), count: 2)
        for (k, shared) in [nil, zeroTerms].enumerated() {
          tables[k].withUnsafeMutableBufferPointer { t in
            SharedTableStep.fillTerms(
              t.baseAddress!, low: low, width: width, scale: BFloat16.rounded(scale), zero: zero, qdq, power,
              BFloat16Lanes.self, zeroTerms: shared)
          }
        }
        let differing = (0..<2 * width).first { tables[0][$0] != tables[1][$0] }
        #expect(differing == nil, "scale \(scale), zero point \(zero): entry \(differing ?? -1)")
      }
    }
  }

  /// The selection's best step per parameter: the first of equal least errors, in the
  /// sixteen-lane body and in the tail alike.
  @Test func recordedStepsAreTheFirstLeastErrors() {
    let count = 37
    func first(_ q: Int) -> Float { Float(q % 5) }
    // Odd parameters fall at step 1; step 2 repeats step 1 (a tie moves nothing).
    func second(_ q: Int) -> Float { q % 2 == 0 ? first(q) : first(q) - 1 }
    func last(_ q: Int) -> Float { q == 16 || q == 36 ? -5 : 100 }
    let rows: [[Float]] = [(0..<count).map(first), (0..<count).map(second), (0..<count).map(second), (0..<count).map(last)]
    var best = [Float](repeating: .greatestFiniteMagnitude, count: count)
    var step = [Int32](repeating: -1, count: count)
    for (i, row) in rows.enumerated() {
      MSEGridSearch.lower(&best, to: row, count, recording: &step, Int32(i))
    }
    for q in 0..<count {
      let expected: Int32 = q == 16 || q == 36 ? 3 : (q % 2 == 1 ? 1 : 0)
      #expect(step[q] == expected, "parameter \(q)")
      #expect(best[q] == rows.map { $0[q] }.min())
    }
  }
}
