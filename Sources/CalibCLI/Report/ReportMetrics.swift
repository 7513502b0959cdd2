import CalibCore
import CalibStore

/// The report's one link to the comparison code that `rank` and `diff --metrics` use: the
/// heatmap must show exactly what `rank` prints, so the errors, their order and their
/// formatting all come from there.
enum ReportMetrics {
  /// One measured pair: the run whose recording supplied the samples, each run's error,
  /// and the runs best first in `rank`'s order (``RunRanking``).
  struct Measured {
    var samplesFrom: String?
    var errors: [String: QuantizationError]
    var ranking: [String]
  }

  /// Per (module, base name) in the filters, measured as `rank` measures it.
  static func measure(
    _ store: CalibrationStore, runs: [String], include: (String, BaseName) -> Bool
  ) throws -> [PairKey: Measured] {
    let errors = try store.quantizationErrors(runs: runs, include: include)
    let ranked = RunRanking(runs: runs, errors: errors)
    var out: [PairKey: Measured] = [:]
    for p in errors {
      out[PairKey(module: p.module, base: p.baseName)] = Measured(samplesFrom: p.samplesFrom, errors: p.errors, ranking: [])
    }
    for p in ranked.pairs {
      out[PairKey(module: p.module, base: p.baseName)]?.ranking = p.ranking.map(\.run)
    }
    return out
  }

  /// An SQNR in dB as `rank`'s table prints it (two decimals; `-` when absent).
  static func decibelsText(_ sqnr: Double?) -> String { CellFormat.decibels(sqnr) }

  /// A number as `diff`'s table prints it (six significant digits; `-` when absent).
  static func numberText(_ x: Double?) -> String { CellFormat.number(x) }

  /// An SQNR in dB as `rank --format json` prints it (a JSON number, or the text of the
  /// strings `nan`, `inf`, `-inf`), for the heatmap's `data-sqnr`.
  static func sqnrText(_ sqnr: Double) -> String {
    let json = JSONValue.double(sqnr).render()
    return json.hasPrefix("\"") ? String(json.dropFirst().dropLast()) : json
  }
}
