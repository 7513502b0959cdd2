/// float32 searches at a norm torch raises with its `pow` (not 2 or 3) compute their errors
/// from ``FastPower`` terms, about four times cheaper than torch's own power
/// (``TorchPower``), and prove, block by block, that every comparison the reference makes
/// (`err < best_error`) comes out as it would with torch's terms; a parameter for which
/// one might not is computed again with torch's power, for all its steps so far and from
/// then on.
///
/// The bound: the approximate and exact errors of a step are float32 sums of the same
/// terms in the same order (``TorchSum``). Each approximate term is within 8 ulp of torch's
/// (``FastPower`` within ``FastPower/maximumError``, 4.5, of the exact power, torch's within
/// 1, and 2.5 to spare), and each of the at most D additions on a term's way to the result
/// (``TorchSum/roundingDepth(count:dtype:)``) moves the two sums apart by at most one ulp
/// of a partial sum, itself at most the total.
/// So `|e - e_exact| ≤ (D + 8) · 2^-23 · e` (within rounding of the bound itself, covered
/// by 2 more ulp), plus n · 2^-96 for the terms below ``FastPower``'s floor. Two errors
/// whose bounds overlap are undecided — equal exact errors (a tie the reference breaks
/// towards the earlier step) always are.
extension MSEGridSearch {
  /// The approximation this search may certify, or `nil` where it computes torch's terms
  /// directly: other dtypes (their rounded terms would need another bound), norms 2 and 3
  /// (exact products already) and norms ``FastPower`` does not cover.
  func certifiablePower(dtype: FloatDType) -> FastPower? {
    let norm = Float(settings.norm)
    guard dtype == .float32 && norm != 2 && norm != 3 else { return nil }
    return FastPower(norm: norm)
  }

  /// What certification carries from block to block.
  struct Certification {
    /// Parameters computed with torch's power from now on.
    var exact: [Bool]
    var exactList: [Int] = []
    /// `|e - e_exact| ≤ relative · e + absolute`.
    let relative: Float
    let absolute: Float

    init(_ search: MSEGridSearch, _ layout: GroupLayout) {
      let n = MSEGridSearch.paddedLength(layout)
      var depth = TorchSum.roundingDepth(count: n, dtype: .float32)
      // A sum torch splits over its threads: the partials' sum adds its own additions.
      if !search.sumsWholeParameters(layout) {
        depth = TorchSum.maximumRoundings(count: n, dtype: .float32)
          + TorchSum.maximumRoundings(count: search.torchThreads.count, dtype: .float32)
      }
      exact = [Bool](repeating: false, count: layout.count)
      relative = Float(depth + 10) * 0x1p-23
      absolute = Float(n) * 0x1p-96
    }

    /// Whether `e` and the best so far `m` are too close (or too large) to compare.
    @inline(__always)
    func undecided(_ e: Float, _ m: Float) -> Bool {
      guard e < FastPower.hugeTerm else { return true }
      return m != Float.greatestFiniteMagnitude && (e - m).magnitude <= relative * (e + m) + 2 * absolute
    }
  }

  /// Makes a block of approximate errors (`part`: steps `first ..< first + steps`) safe to
  /// select from: entries of parameters already exact are replaced by torch's; every other
  /// parameter whose comparisons in the block, against its running best `best[q]` (over the
  /// approximate errors so far), are not all decided becomes exact — its entries in
  /// `errors` (steps before `first`) and `part` replaced, `best[q]` the least exact error.
  /// `exactErrors(subset, steps)` computes torch's table for those parameters and steps.
  func certify(
    _ part: inout [Float], first: Int, steps: Int, count: Int, errors: inout [Float], best: inout [Float],
    _ state: inout Certification, exactErrors: ([Int], Range<Int>) -> [Float]
  ) {
    if !state.exactList.isEmpty {
      let table = exactErrors(state.exactList, first..<(first + steps))
      for i in 0..<steps {
        for q in state.exactList { part[i * count + q] = table[i * count + q] }
      }
    }
    var undecided: [Int] = []
    for q in 0..<count where !state.exact[q] {
      var m = best[q]
      for i in 0..<steps {
        let e = part[i * count + q]
        if state.undecided(e, m) {
          undecided.append(q)
          break
        }
        if e < m { m = e }
      }
    }
    guard !undecided.isEmpty else { return }
    let table = exactErrors(undecided, 0..<(first + steps))
    for q in undecided {
      var m = Float.greatestFiniteMagnitude
      for i in 0..<first {
        errors[i * count + q] = table[i * count + q]
        m = Swift.min(m, table[i * count + q])
      }
      best[q] = m
      for i in 0..<steps { part[i * count + q] = table[(first + i) * count + q] }
      state.exact[q] = true
    }
    state.exactList += undecided
  }
}
