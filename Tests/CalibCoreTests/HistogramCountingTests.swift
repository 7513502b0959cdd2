@testable import CalibCore
import Testing

// The SIMD histogram kernels (HistogramCounting, NumPyHistogram, ModelOptCalibration.histc)
// against literal scalar transcriptions of their sources, on values chosen to sit on,
// just below and just above every edge, where a wrong shortcut would move a count.

@Suite struct HistogramCountingTests {
  /// A small deterministic generator (SplitMix64), so a failure reproduces.
  struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
  }

  /// Random values in `[lo, hi]`, every edge and its float neighbours, both bounds and
  /// values outside them.
  static func adversarial(lo: Float, hi: Float, edges: [Float], count: Int, seed: UInt64) -> [Float] {
    var rng = SplitMix(state: seed)
    var values = (0..<count).map { _ in Float.random(in: lo...hi, using: &rng) }
    for e in edges { values += [e, e.nextUp, e.nextDown] }
    values += [lo, hi, lo.nextDown, hi.nextUp, lo - 1, hi + 1, -0.0, 0]
    values.shuffle(using: &rng)
    return values
  }

  /// NumPy 2.x `_histograms_impl.histogram` for uniform bins, element by element.
  static func numpyUniform(_ values: [Float], bins: Int, lo: Float, hi: Float) -> [Int64] {
    let edges = NumPyHistogram.linspaceEdges(lo: lo, hi: hi, bins: bins)
    var counts = [Int64](repeating: 0, count: bins)
    for x in values where x >= lo && x <= hi {
      var i = Int(((x - lo) / (hi - lo)) * Float(bins))
      if i == bins { i -= 1 }
      if x < edges[i] { i -= 1 }
      if x >= edges[i + 1] && i != bins - 1 { i += 1 }
      counts[i] += 1
    }
    return counts
  }

  /// `np.histogram(values, bins=edges)`: `searchsorted` on float64 edges, last bin closed.
  static func numpyEdges(_ values: [Float], edges: [Double]) -> [Int64] {
    let bins = edges.count - 1
    var counts = [Int64](repeating: 0, count: bins)
    for x in values.map(Double.init) where x >= edges[0] && x <= edges[bins] {
      // searchsorted(edges, x, 'right') - 1, capped at the last bin.
      var low = 0
      var high = edges.count
      while low < high {
        let mid = (low + high) / 2
        if edges[mid] <= x { low = mid + 1 } else { high = mid }
      }
      counts[Swift.min(low - 1, bins - 1)] += 1
    }
    return counts
  }

  /// `torch.histc` on CPU: `(x - lo) * bins / (hi - lo)` truncated, `bins` joining the last.
  static func torchHistc(_ values: [Float], bins: Int, lo: Float, hi: Float) -> [Int64] {
    var counts = [Int64](repeating: 0, count: bins)
    for x in values where x >= lo && x <= hi {
      var i = Int(((x - lo) * Float(bins)) / (hi - lo))
      if i == bins { i -= 1 }
      counts[i] += 1
    }
    return counts
  }

  @Test(arguments: [
    (Float(-1), Float(1), 1), (-74.4, 74.4, 258), (-0.001, 0.003, 2048), (1000, 1002, 4099), (100, 101, 2048),
    (6.27e-7, 37.19, 2048), (-3e30, 2e30, 333), (0, 1e-30, 64),
  ])
  func uniformBinsMatchNumPy(lo: Float, hi: Float, bins: Int) throws {
    let edges = NumPyHistogram.linspaceEdges(lo: lo, hi: hi, bins: bins)
    let values = Self.adversarial(lo: lo, hi: hi, edges: edges, count: 20_000, seed: UInt64(bins))
    for magnitudes in [false, true] {
      let input = magnitudes ? values.map { $0.magnitude } : values
      let expected = Self.numpyUniform(input, bins: bins, lo: lo, hi: hi)
      let got = try values.withUnsafeBufferPointer {
        try NumPyHistogram.uniform($0, bins: bins, lo: lo, hi: hi, magnitudes: magnitudes, observer: "t").counts
      }
      #expect(got == expected, "lo \(lo) hi \(hi) bins \(bins) magnitudes \(magnitudes)")
    }
  }

  /// Edges as onnxruntime's |x| histogram grows them: `num_bins` linspace edges in float32,
  /// then `arange` (float64) steps of the first bin's width past the old last edge.
  @Test(arguments: [(Float(6.27e-7), Float(37.19), 2048, Float(55.78)), (0, 1, 7, 9.5), (100, 100.5, 128, 700)])
  func edgeSearchMatchesSearchSorted(lo: Float, hi: Float, bins: Int, grownTo: Float) {
    let first = NumPyHistogram.linspaceEdges(lo: lo, hi: hi, bins: bins)
    let width = first[1] - first[0]
    var edges = first.map(Double.init)
    edges += NumPyHistogram.arange(start: hi + width, stop: grownTo + width, step: width)
    let floatEdges = edges.map { Float($0) }
    let values = Self.adversarial(lo: -grownTo, hi: grownTo, edges: floatEdges, count: 20_000, seed: 7)
    for knot in [0, bins] {
      let expected = Self.numpyEdges(values.map { $0.magnitude }, edges: edges)
      let got = values.withUnsafeBufferPointer {
        NumPyHistogram.counting($0, edges: edges, knot: knot, magnitudes: true)
      }
      #expect(got == expected, "knot \(knot)")
      let signed = values.withUnsafeBufferPointer { NumPyHistogram.counting($0, edges: edges, knot: knot) }
      #expect(signed == Self.numpyEdges(values, edges: edges), "signed, knot \(knot)")
    }
  }

  @Test(arguments: [(Float(0), Float(45.47), 2048), (0, 1e-3, 4096), (0, 68.2, 3072), (-2, 5, 9)])
  func histcMatchesTorch(lo: Float, hi: Float, bins: Int) {
    let step = (hi - lo) / Float(bins)
    let edges = (0...bins).map { Float($0) * step + lo }
    let values = Self.adversarial(lo: lo - 1, hi: hi, edges: edges, count: 20_000, seed: 3)
    let got = values.withUnsafeBufferPointer {
      ModelOptCalibration.histc($0, bins: bins, lo: lo, hi: hi, absolute: true, parallel: true)
    }
    #expect(got == Self.torchHistc(values.map { $0.magnitude }, bins: bins, lo: lo, hi: hi))
    // Signed values: -0 counts as 0 (in bin 0 when lo is 0).
    let signed = values.withUnsafeBufferPointer { ModelOptCalibration.histc($0, bins: bins, lo: lo, hi: hi, parallel: true) }
    #expect(signed == Self.torchHistc(values, bins: bins, lo: lo, hi: hi))
    let zerosSkipped = values.withUnsafeBufferPointer {
      ModelOptCalibration.histc($0, bins: bins, lo: lo, hi: hi, skipZeros: true, parallel: false)
    }
    #expect(zerosSkipped == Self.torchHistc(values.filter { $0 != 0 }, bins: bins, lo: lo, hi: hi))
  }

  @Test func countsDoNotDependOnChunkingOrThreads() throws {
    let n = HistogramCounting.chunkSize * 3 + 5
    let values = (0..<n).map { Float(($0 &* 2_654_435_761) % 10_007) / 10_007 - 0.25 }
    try values.withUnsafeBufferPointer { x in
      let a = try NumPyHistogram.uniform(x, bins: 333, lo: -0.25, hi: 0.75, observer: "t", parallel: true)
      let b = try NumPyHistogram.uniform(x, bins: 333, lo: -0.25, hi: 0.75, observer: "t", parallel: false)
      #expect(a.counts == b.counts)
      #expect(a.counts.reduce(0, +) == Int64(n))
      #expect(NumPyHistogram.counting(x, edges: a.edges.map(Double.init), parallel: true) == a.counts)
    }
  }

  @Test func growthPastTheLimitIsAnErrorNotACrash() throws {
    // A first step of tiny values, then one of huge ones: the sources would allocate
    // billions of bins (or overflow an integer); CalibStore refuses with a clear error.
    let tiny = Tensor(shape: [4], values: [1e-30, -2e-30, 3e-30, 0])
    let huge = Tensor(shape: [4], values: [1e30, -2e30, 3, 0])
    for kind in [ObserverKind.ortPercentile, .ortEntropy, .ortDistribution, .modelOptPercentile] {
      var observer = try Observer(kind: kind, baseName: .input, args: QuantizationArgs(numBits: 8, strategy: .tensor))
      _ = try observer.observe(tiny)
      let before = observer.state
      #expect(throws: ObserverError.self, "\(kind)") { try observer.observe(huge) }
      #expect(observer.state == before, "\(kind): a refused step leaves the state as it was")
    }
  }
}
