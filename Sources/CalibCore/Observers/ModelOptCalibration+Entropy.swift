#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

extension ModelOptCalibration {
  /// `_compute_amax_entropy` (`modelopt/torch/quantization/calib/histogram.py`,
  /// nvidia-modelopt 0.47.0): the window of the |x| histogram whose clipped, requantized
  /// copy has the least KL divergence from it.
  ///
  /// ```
  /// b := counts as int32;  b[0] := b[1];  n := len(b);  q := 2^(num_bits - 1)
  /// for i in start_bin, start_bin + stride, …, ≤ n:
  ///   d(j) := ⌊j·q / i⌋ for j < i   (np.digitize on linspace(0, i, q + 1), exact for a
  ///                                   power-of-two q)
  ///   new[j] := 0 where b[j] = 0, else the mean of the nonzero b over j's group d(j)
  ///   ref := b[:i] with ref[i-1] += sum(b[i:])
  ///   D(i) := scipy entropy(ref, new) = Σ rel_entr(ref/Σref, new/Σnew)   (float64)
  /// amax := edges[i*] with i* the LAST minimiser of D (the source takes argmin of the
  ///         reversed list); a NaN D wins (np.argmin), the last NaN then.
  /// ```
  /// Sums are NumPy's pairwise float64 sums and `log` is the C library's, as scipy's
  /// `rel_entr` calls it, so each D is the source's to the bit. The source's
  /// `_normalize_distr` does not normalise (it rebinds a local), which changes nothing as
  /// `entropy` normalises. Its count check (the requantized total must round to the data
  /// total) cannot fail below 2^53 counts and is not repeated.
  ///
  /// - Throws: ``ObserverError/unsupported(observer:reason:)`` where the source fails:
  ///   fewer than two bins (`b[1]`), `start_bin` past the last bin (argmin of nothing), or
  ///   an `i*` past the last edge (IndexError, possible after growth).
  static func entropyAmax(
    _ h: CalibrationHistogram, numBits: Int, stride: Int, startBin: Int, observer: String
  ) throws -> Float {
    var b = h.counts.map { Int64(Int32(truncatingIfNeeded: $0)) }
    guard b.count >= 2 else {
      throw ObserverError.unsupported(observer: observer, reason: "the histogram has \(b.count) bin; the entropy search needs two (raise num_bins)")
    }
    b[0] = b[1]
    let n = b.count
    guard startBin <= n else {
      throw ObserverError.unsupported(
        observer: observer, reason: "start_bin \(startBin) is past the histogram's \(n) bins (lower start_bin or raise num_bins)")
    }
    var tail = [Int64](repeating: 0, count: n + 1)
    for j in (0..<n).reversed() { tail[j] = tail[j + 1] + b[j] }
    var scratch = EntropyScratch(count: n)
    var best: (i: Int, d: Double)? = nil
    for i in Swift.stride(from: startBin, through: n, by: stride) {
      let d = scratch.divergence(b, window: i, levels: 1 << (numBits - 1), total: tail[0], tail: tail[i])
      // Last minimiser; a NaN beats everything, the last NaN beats earlier ones.
      if let current = best {
        if d.isNaN || (!current.d.isNaN && d <= current.d) { best = (i, d) }
      } else {
        best = (i, d)
      }
    }
    let index = best!.i
    guard index < h.edges.count else {
      throw ObserverError.unsupported(
        observer: observer, reason: "the entropy window \(index) falls past the histogram's last edge (modelopt fails with an IndexError)")
    }
    return h.edges[index]
  }
}

/// Buffers of one entropy search, reused across windows.
struct EntropyScratch {
  var new: [Double]
  var terms: [Double]

  init(count: Int) {
    new = [Double](repeating: 0, count: count)
    terms = [Double](repeating: 0, count: count)
  }

  /// D(i) of ``ModelOptCalibration/entropyAmax(_:numBits:stride:startBin:observer:)`` for
  /// window `i` of `b` (whose sum is `total`; `tail` is the sum of `b[i...]`). The groups
  /// d(j) = ⌊j·q / i⌋ are runs of consecutive j, averaged run by run.
  mutating func divergence(_ b: [Int64], window i: Int, levels q: Int, total: Int64, tail: Int64) -> Double {
    var start = 0
    while start < i {
      let g = start * q / i
      var end = start + 1
      while end < i && end * q / i == g { end += 1 }
      var sum: Int64 = 0
      var count: Int64 = 0
      for j in start..<end where b[j] != 0 {
        sum += b[j]
        count += 1
      }
      let mean = count == 0 ? 0 : Double(sum) / Double(count)
      for j in start..<end { new[j] = b[j] == 0 ? 0 : mean }
      start = end
    }
    let newTotal = new.withUnsafeBufferPointer { NumPyHistogram.pairwiseSum(UnsafeBufferPointer(rebasing: $0[0..<i])) }
    let refTotal = Double(total)
    for j in 0..<i {
      let ref = j == i - 1 ? b[j] + tail : b[j]
      terms[j] = Self.relativeEntropy(Double(ref) / refTotal, new[j] / newTotal)
    }
    return terms.withUnsafeBufferPointer { NumPyHistogram.pairwiseSum(UnsafeBufferPointer(rebasing: $0[0..<i])) }
  }

  /// scipy's `rel_entr(x, y)`: `x·log(x/y)` for positive x and y, 0 for x = 0 ≤ y, NaN for
  /// a NaN, +∞ otherwise.
  @inline(__always)
  static func relativeEntropy(_ x: Double, _ y: Double) -> Double {
    if x.isNaN || y.isNaN { return .nan }
    if x > 0 && y > 0 { return x * log(x / y) }
    if x == 0 && y >= 0 { return 0 }
    return .infinity
  }
}
