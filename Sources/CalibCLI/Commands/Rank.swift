import ArgumentParser
import CalibCore
import CalibStore
import Foundation

extension CalibCommand {
  /// `calib rank STORE RUN...`: which settings quantize each module best.
  struct Rank: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Rank runs per module by quantization error (SQNR) on the stored samples.",
      discussion: """
        For each (module, base name), the runs ordered by SQNR (dB, higher is better) of their \
        final parameters on the same stored samples; then, per run, how often it wins and its \
        mean SQNR: the answer to "which observer should I use for which layers".

        Example:
          % calib rank calib.sqlite w8a8 w8a8-mse --base-name input
        """)

    @Argument(help: .store)
    var store: String

    @Argument(help: "The runs to rank (at least two).")
    var runs: [String]

    @OptionGroup var filters: FilterOptions

    @OptionGroup var output: OutputOptions

    func validate() throws {
      if runs.count < 2 { throw ValidationError("give at least two runs to rank") }
    }

    func run() async throws {
      let s = try CalibrationStore(path: store, readOnly: true)
      for r in runs { _ = try s.run(named: r) }
      let pairs = try s.quantizationErrors(runs: runs, include: { filters.includes($0, $1) }).filter { !$0.errors.isEmpty }
      var wins = Dictionary(uniqueKeysWithValues: runs.map { ($0, 0) })
      var sums = Dictionary(uniqueKeysWithValues: runs.map { ($0, (0.0, 0)) })
      var ranked: [(PairErrors, [(String, QuantizationError)])] = []
      for p in pairs {
        let order = p.errors.sorted { a, b in
          let (x, y) = (a.value.sqnr, b.value.sqnr)
          // Higher SQNR first; NaN last; ties keep the order the runs were given in.
          return x != y ? x > y || y.isNaN : (runs.firstIndex(of: a.key) ?? 0) < (runs.firstIndex(of: b.key) ?? 0)
        }
        if let best = order.first { wins[best.key, default: 0] += 1 }
        for (run, e) in order where e.sqnr.isFinite {
          sums[run] = ((sums[run]?.0 ?? 0) + e.sqnr, (sums[run]?.1 ?? 0) + 1)
        }
        ranked.append((p, order))
      }
      let summary = runs.map { r -> (String, Int, Double) in
        let (total, n) = sums[r] ?? (0, 0)
        return (r, wins[r] ?? 0, n > 0 ? total / Double(n) : .nan)
      }
        .sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.2 > $1.2 }
      let console = Console.current
      switch output.format {
      case .json:
        console.out(JSONValue.object([
          ("pairs", .array(ranked.map { p, order in
            .object([
              ("module", .string(p.module)), ("base_name", .string(p.baseName.rawValue)),
              ("samples_from", p.samplesFrom.map { .string($0) } ?? .null),
              ("ranking", .array(order.map { run, e in .object([("run", .string(run)), ("sqnr_db", .double(e.sqnr)), ("mse", .double(e.meanSquaredError))]) })),
            ])
          })),
          ("summary", .array(summary.map { r, w, m in .object([("run", .string(r)), ("wins", .int(w)), ("mean_sqnr_db", .double(m))]) })),
        ]).render(indent: 2) + "\n")
      case .table, .csv:
        var table = TextTable(headers: ["module", "base", "rank", "run", "sqnr_db", "mse"])
        for (p, order) in ranked {
          for (i, (run, e)) in order.enumerated() {
            table.rows.append([p.module, p.baseName.rawValue, String(i + 1), run, decibels(e.sqnr), number(e.meanSquaredError)])
          }
        }
        var totals = TextTable(headers: ["run", "wins", "mean_sqnr_db"])
        totals.rows = summary.map { [$0.0, String($0.1), decibels($0.2)] }
        console.out(table.render(output.format) + "\n" + totals.render(output.format))
      }
      console.err("Ranked \(runs.count) runs over \(ranked.count) module/base pairs\n")
    }
  }
}
