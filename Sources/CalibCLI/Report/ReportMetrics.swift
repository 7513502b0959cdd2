import CalibCore
import CalibStore

/// The report's one link to the comparison code that `rank` and `diff --metrics` use.
///
/// The report never measures errors itself: the heatmap must show exactly what `rank`
/// prints, and the comparison code is being reworked on its own branch. Everything the
/// report takes from it (the errors through ``measure(_:runs:include:)``, rank's order, and
/// the table formatting that lives beside `diff`) goes through this file, so retargeting
/// the report to a new comparison API is a change here only.
enum ReportMetrics {
  /// Per (module, base name) in the filters: each run's quantization error on the shared
  /// stored samples, and which run supplied them.
  static func measure(
    _ store: CalibrationStore, runs: [String], include: (String, BaseName) -> Bool
  ) throws -> [PairKey: (samplesFrom: String?, errors: [String: QuantizationError])] {
    var out: [PairKey: (samplesFrom: String?, errors: [String: QuantizationError])] = [:]
    for p in try store.quantizationErrors(runs: runs, include: include) {
      out[PairKey(module: p.module, base: p.baseName)] = (p.samplesFrom, p.errors)
    }
    return out
  }

  /// The runs measured for a pair, best first, in `rank`'s order: higher SQNR first, NaN
  /// last, ties in the order the runs were given.
  static func ranking(_ errors: [String: QuantizationError], runs: [String]) -> [String] {
    let measured = runs.filter { errors[$0] != nil }
    return measured.enumerated().sorted { a, b in
      let (x, y) = (errors[a.element]?.sqnr ?? .nan, errors[b.element]?.sqnr ?? .nan)
      if x == y || (x.isNaN && y.isNaN) { return a.offset < b.offset }
      return x > y || y.isNaN
    }.map(\.element)
  }

  /// An SQNR in dB as `rank`'s table prints it (two decimals; `-` when absent).
  static func decibelsText(_ sqnr: Double?) -> String { decibels(sqnr) }

  /// A number as `diff`'s table prints it (six significant digits; `-` when absent).
  static func numberText(_ x: Double?) -> String { number(x) }

  /// An SQNR in dB as `rank --format json` prints it (a JSON number, or the text of the
  /// strings `nan`, `inf`, `-inf`), for the heatmap's `data-sqnr`.
  static func sqnrText(_ sqnr: Double) -> String {
    let json = JSONValue.double(sqnr).render()
    return json.hasPrefix("\"") ? String(json.dropFirst().dropLast()) : json
  }
}
