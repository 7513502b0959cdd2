import ArgumentParser
import CalibCore
import CalibStore
import Foundation

extension CalibCommand {
  /// `calib report STORE RUN... -o report.html`: one self-contained HTML page comparing runs.
  struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Write one self-contained HTML page that shows where runs differ.",
      discussion: """
        The page holds: the runs (kind, parent, arithmetic, recipe differences, creation \
        time); a heatmap of SQNR (dB) per (module, base name) × run, computed as rank does, \
        grouped by layer, with each module's winner outlined, filterable by base name and \
        sortable by a run's SQNR; per module, each run's scale values, their ratio to the \
        first run's, the running min/max and scale after each step (activations), and the \
        stored sample values (log counts) with each run's clipping range; and flags: \
        uncalibrated activations, non-finite samples skipped, scales differing from the \
        first run's by more than --rtol. Inline SVG, CSS and a short script; it fetches \
        nothing and opens from disk. The same store and arguments give the same bytes.

        Example:
          % calib report calib.sqlite w8a8 w8a8-mse --base-name input -o report.html
        """)

    @Argument(help: .store)
    var store: String

    @Argument(help: "The runs to compare (one or more); the first is the reference for scale ratios.")
    var runs: [String]

    @OptionGroup var filters: FilterOptions

    @Option(name: .shortAndLong, help: ArgumentHelp("The HTML file to write ('-' for stdout).", valueName: "file"))
    var output: String

    // `.unconditional` reads `--rtol -1` as a value, so validate() can say what is wrong.
    @Option(parsing: .unconditional, help: "Flag scales whose relative difference from the first run's exceeds this (≥ 0).")
    var rtol = 0.01

    func validate() throws {
      if runs.isEmpty { throw ValidationError("give at least one run to report on") }
      if !(rtol.isFinite && rtol >= 0) {
        throw ValidationError("--rtol \(rtol) is invalid: give a finite tolerance ≥ 0 (e.g. --rtol 0.01)")
      }
      if Set(runs).count != runs.count { throw ValidationError("each run may be given once") }
    }

    func run() async throws {
      let console = Console.current
      let start = DispatchTime.now().uptimeNanoseconds
      let filters = self.filters
      let model = try ReportModel.load(store: store, runs: runs, include: { filters.includes($0, $1) }, rtol: rtol)
      let html = ReportPage.render(model)
      if output == "-" {
        console.out(html)
        try console.checkOutput()
      } else {
        try ExportDestination(path: output, store: store, output: .report).write(Data(html.utf8))
      }
      let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
      let target = output == "-" ? "stdout" : output
      console.line(
        "Wrote report of \(runs.count) run(s) over \(model.pairs.count) module/base pairs to \(target): "
          + "\(ByteCount.format(Int64(html.utf8.count))) in \(String(format: "%.2f", seconds)) s")
    }
  }
}
