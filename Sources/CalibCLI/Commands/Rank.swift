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

    @Option(help: "Worker threads measuring the pairs (default: all cores).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
      if runs.count < 2 { throw ValidationError("give at least two runs to rank") }
      if threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() async throws {
      let s = try CalibrationStore(path: store, readOnly: true)
      for r in runs { _ = try s.run(named: r) }
      // Read before the ranking, so a run removed meanwhile fails the ranking (which prints
      // nothing) rather than this, after the table is out.
      let notes = try uncalibratedNotes(s)
      let ranking = try s.ranking(runs: runs, include: { filters.includes($0, $1) }, threads: threads)
      let console = Console.current
      switch output.format {
      case .json: console.out(json(ranking).render(indent: 2) + "\n")
      case .table, .csv: console.out(tables(ranking))
      }
      console.line("Ranked \(runs.count) runs over \(ranking.pairs.count) module/base pairs")
      for note in notes { console.line(note) }
    }

    /// One line per run that left activations uncalibrated (no samples reached their
    /// observer): they have no parameters to measure, so they are not ranked for that run.
    private func uncalibratedNotes(_ s: CalibrationStore) throws -> [String] {
      try runs.compactMap { r in
        let missing = try s.finalQParams(ofRun: r).filter { !$0.calibrated && filters.includes($0.module, $0.baseName) }
        guard let first = missing.first else { return nil }
        return "note: \(r) left \(missing.count) activation(s) uncalibrated (no samples reached their observer, e.g. "
          + "\(first.module).\(first.baseName.rawValue)); they are not ranked for \(r)"
      }
    }

    private func json(_ ranking: RunRanking) -> JSONValue {
      .object([
        ("pairs", .array(ranking.pairs.map { p in
          .object([
            ("module", .string(p.module)), ("base_name", .string(p.baseName.rawValue)),
            ("samples_from", p.samplesFrom.map { .string($0) } ?? .null),
            ("ranking", .array(p.ranking.map { e in
              .object([("run", .string(e.run)), ("sqnr_db", .double(e.error.sqnr)), ("mse", .double(e.error.meanSquaredError))])
            })),
          ])
        })),
        ("summary", .array(ranking.standings.map { s in
          .object([("run", .string(s.run)), ("wins", .int(s.wins)), ("mean_sqnr_db", .double(s.meanSQNR))])
        })),
      ])
    }

    private func tables(_ ranking: RunRanking) -> String {
      var table = TextTable(headers: ["module", "base", "rank", "run", "sqnr_db", "mse"])
      for p in ranking.pairs {
        for (i, e) in p.ranking.enumerated() {
          table.rows.append([
            p.module, p.baseName.rawValue, String(i + 1), e.run, CellFormat.decibels(e.error.sqnr),
            CellFormat.number(e.error.meanSquaredError),
          ])
        }
      }
      var totals = TextTable(headers: ["run", "wins", "mean_sqnr_db"])
      totals.rows = ranking.standings.map { [$0.run, String($0.wins), CellFormat.decibels($0.meanSQNR)] }
      return table.render(output.format) + "\n" + totals.render(output.format)
    }
  }
}
