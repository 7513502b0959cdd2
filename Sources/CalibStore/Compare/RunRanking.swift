import CalibCore
import Foundation

/// Runs ordered by quantization error per (module, base name), and how often each wins:
/// what `calib rank` prints.
///
/// ## Topics
/// - ``Pair``
/// - ``Entry``
/// - ``Standing``
public struct RunRanking: Sendable {
  /// One run's error on a pair.
  public struct Entry: Sendable, Equatable {
    public var run: String
    /// SQNR in dB (``QuantizationError/sqnr``) and MSE over the pair's samples.
    public var error: QuantizationError
  }

  /// One (module, base name) with its runs, best first.
  public struct Pair: Sendable {
    public var module: String
    public var baseName: BaseName
    /// The run whose recording supplied the samples.
    public var samplesFrom: String?
    /// The runs measured for the pair with their error, by SQNR (dB) from highest to
    /// lowest; NaN last; ties in the order the runs were given in.
    public var ranking: [Entry]
  }

  /// One run's totals over all pairs.
  public struct Standing: Sendable, Equatable {
    public var run: String
    /// Pairs where the run ranks first.
    public var wins: Int
    /// Mean SQNR (dB) over the pairs where it is finite; NaN when it is nowhere.
    public var meanSQNR: Double
  }

  /// The pairs at least one run was measured on, by module and base name.
  public var pairs: [Pair]
  /// Every run given, by wins, then mean SQNR, both from highest (NaN last, ties in the
  /// order the runs were given).
  public var standings: [Standing]

  /// Ranks the runs on measured errors (``CalibrationStore/quantizationErrors(runs:include:threads:)``).
  ///
  /// For example:
  /// ```swift
  /// let errors = try store.quantizationErrors(runs: ["w8a8", "w8a8-mse"])
  /// let ranking = RunRanking(runs: ["w8a8", "w8a8-mse"], errors: errors)
  /// print(ranking.standings.first?.run ?? "-")
  /// ```
  ///
  /// - Parameters:
  ///   - runs: the runs, in the order that breaks ties.
  ///   - errors: the measured pairs; pairs without any error are left out.
  public init(runs: [String], errors: [PairErrors]) {
    let position = Dictionary(runs.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    var wins = [String: Int]()
    var sums = [String: (total: Double, count: Int)]()
    pairs = errors.filter { !$0.errors.isEmpty }.map { p in
      let order = p.errors.map { Entry(run: $0.key, error: $0.value) }.sorted { a, b in
        let (x, y) = (a.error.sqnr, b.error.sqnr)
        // Higher SQNR first; NaN last; ties (NaN with NaN too) keep the order the runs were
        // given in.
        if x.isNaN != y.isNaN { return y.isNaN }
        if !x.isNaN && x != y { return x > y }
        return (position[a.run] ?? 0) < (position[b.run] ?? 0)
      }
      if let best = order.first { wins[best.run, default: 0] += 1 }
      for entry in order where entry.error.sqnr.isFinite {
        sums[entry.run, default: (0, 0)].total += entry.error.sqnr
        sums[entry.run, default: (0, 0)].count += 1
      }
      return Pair(module: p.module, baseName: p.baseName, samplesFrom: p.samplesFrom, ranking: order)
    }
    standings = runs.map { run in
      let (total, count) = sums[run] ?? (0, 0)
      return Standing(run: run, wins: wins[run] ?? 0, meanSQNR: count > 0 ? total / Double(count) : .nan)
    }
    .sorted { a, b in
      if a.wins != b.wins { return a.wins > b.wins }
      if a.meanSQNR.isNaN != b.meanSQNR.isNaN { return b.meanSQNR.isNaN }
      if !a.meanSQNR.isNaN && a.meanSQNR != b.meanSQNR { return a.meanSQNR > b.meanSQNR }
      return (position[a.run] ?? 0) < (position[b.run] ?? 0)
    }
  }
}

extension CalibrationStore {
  /// Measures the runs on the stored samples and ranks them per (module, base name).
  ///
  /// For example:
  /// ```swift
  /// let ranking = try store.ranking(runs: ["w8a8", "w8a8-mse"], threads: 4)
  /// for pair in ranking.pairs { print(pair.module, pair.ranking.map(\.run)) }
  /// ```
  ///
  /// - Parameters:
  ///   - runs: the runs to rank, all complete; their order breaks ties.
  ///   - include: which (module, base name) pairs to measure.
  ///   - threads: workers measuring pairs (at least 1).
  /// - Throws: what ``quantizationErrors(runs:include:threads:)`` throws.
  public func ranking(
    runs: [String], include: (String, BaseName) -> Bool = { _, _ in true },
    threads: Int = ProcessInfo.processInfo.activeProcessorCount
  ) throws -> RunRanking {
    RunRanking(runs: runs, errors: try quantizationErrors(runs: runs, include: include, threads: threads))
  }
}
