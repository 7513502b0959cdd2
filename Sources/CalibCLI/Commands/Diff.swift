import ArgumentParser
import CalibCore
import CalibStore
import Foundation

extension CalibCommand {
  /// `calib diff STORE RUN_A RUN_B`: what changed between two runs.
  struct Diff: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Compare the final quantization parameters of two runs.",
      discussion: """
        One row per (module, base name): observers (and the argument fields that differ; all \
        arguments with --verbose), shapes, max |Δscale|, max relative Δscale, mean scale \
        ratio B/A, differing zero points, global scales, and status: same, changed, only in \
        A, only in B, shape mismatch, or uncalibrated (in A, in B, or in both: an activation \
        whose observer received no samples, such as an MoE expert no token reached). --metrics adds each run's quantization error (MSE, \
        SQNR dB) on the stored samples and the winner. A summary line goes to stderr.

        Exit status as diff(1): 0 the runs are the same within --rtol/--atol, 1 they \
        differ, 2 trouble (bad store, unknown run, …).

        Example:
          % calib diff calib.sqlite w8a8 w8a8-mse --metrics --only-changed
        """)

    enum SortColumn: String, ExpressibleByArgument, CaseIterable {
      case module, status, maxAbs = "max_abs", maxRel = "max_rel", ratio, sqnrA = "sqnr_a", sqnrB = "sqnr_b", gain
    }

    @Argument(help: .store)
    var store: String

    @Argument(help: "Run A.")
    var runA: String

    @Argument(help: "Run B.")
    var runB: String

    @OptionGroup var filters: FilterOptions

    @Flag(help: "Measure each side's quantization error on the stored samples.")
    var metrics = false

    @Flag(help: "Only rows that show a difference (status not 'same' or 'uncalibrated').")
    var onlyChanged = false

    @Option(help: "Sort rows by: module, status, max_abs, max_rel, ratio, sqnr_a, sqnr_b, gain (SQNR B - A).")
    var sort: SortColumn = .module

    // `.unconditional` reads `--rtol -1` as a value (not as an unknown flag `-1`), so
    // validate() can say what is wrong with it.
    @Option(parsing: .unconditional, help: "Relative tolerance for scales and global scales (≥ 0).")
    var rtol = 0.0

    @Option(parsing: .unconditional, help: "Absolute tolerance for scales and global scales (≥ 0).")
    var atol = 0.0

    @Flag(help: "Show both runs' full arguments, not only the differing fields.")
    var verbose = false

    @Option(help: "Worker threads measuring --metrics (default: all cores).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    @OptionGroup var output: OutputOptions

    func validate() throws {
      for (flag, value) in [("--rtol", rtol), ("--atol", atol)] where !(value.isFinite && value >= 0) {
        throw ValidationError("\(flag) \(value) is invalid: give a finite tolerance ≥ 0 (e.g. \(flag) 1e-6)")
      }
      if threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() async throws {
      let console = Console.current
      let rows: [DiffRow]
      do {
        let s = try CalibrationStore(path: store, readOnly: true)
        _ = try s.run(named: runA)
        _ = try s.run(named: runB)
        rows = try s.diff(
          runA, runB, tolerance: DiffTolerance(relative: rtol, absolute: atol), metrics: metrics,
          include: { filters.includes($0, $1) }, threads: threads)
      } catch {
        console.line("Error: \(error)")
        throw ExitCode(2)
      }
      var shown = onlyChanged ? rows.filter { $0.status.isDifference } : rows
      shown.sort(by: ordering)
      switch output.format {
      case .json: console.out(JSONValue.array(shown.map(json)).render(indent: 2) + "\n")
      case .table, .csv: console.out(table(shown).render(output.format))
      }
      // The uncalibrated statuses are counted only where they occur (dense models never have them).
      let counts = DiffStatus.allCases.compactMap { status -> String? in
        let n = rows.filter { $0.status == status }.count
        let alwaysShown: Set<DiffStatus> = [.same, .changed, .onlyInA, .onlyInB, .shapeMismatch]
        return n > 0 || alwaysShown.contains(status) ? "\(n) \(status.rawValue)" : nil
      }
      console.line("\(runA) vs \(runB): " + counts.joined(separator: ", "))
      if rows.contains(where: { $0.status.isDifference }) { throw ExitCode(1) }
    }

    private func table(_ shown: [DiffRow]) -> TextTable {
      var headers = ["module", "base", "status", "observer_a", "observer_b", "args", "shape_a", "shape_b", "max_abs_dscale", "max_rel_dscale", "mean_ratio_b_a", "zp_diffs", "global_a", "global_b"]
      if metrics { headers += ["mse_a", "mse_b", "sqnr_a_db", "sqnr_b_db", "winner"] }
      var table = TextTable(headers: headers)
      for r in shown {
        let shapeA: String = r.shapeA.map { "\($0)" } ?? "-"
        let shapeB: String = r.shapeB.map { "\($0)" } ?? "-"
        let globalA: String = r.globalScaleA.map { $0.description } ?? "-"
        let globalB: String = r.globalScaleB.map { $0.description } ?? "-"
        let zp: String = r.zeroPointDifferences.map(String.init) ?? "-"
        var cells: [String] = [r.module, r.baseName.rawValue, r.status.rawValue, r.observerA ?? "-", r.observerB ?? "-"]
        cells += [argsCell(r), shapeA, shapeB, CellFormat.number(r.maxAbsoluteScaleDelta), CellFormat.number(r.maxRelativeScaleDelta)]
        cells += [CellFormat.number(r.meanScaleRatio), zp, globalA, globalB]
        if metrics {
          cells += [CellFormat.number(r.errorA?.meanSquaredError), CellFormat.number(r.errorB?.meanSquaredError)]
          cells += [CellFormat.decibels(r.errorA?.sqnr), CellFormat.decibels(r.errorB?.sqnr), r.winner ?? "-"]
        }
        table.rows.append(cells)
      }
      return table
    }

    private func ordering(_ a: DiffRow, _ b: DiffRow) -> Bool {
      func key(_ r: DiffRow) -> Double {
        switch sort {
        case .maxAbs: -(r.maxAbsoluteScaleDelta ?? -1)
        case .maxRel: -(r.maxRelativeScaleDelta ?? -1)
        case .ratio: -(r.meanScaleRatio ?? 0)
        case .sqnrA: -(r.errorA?.sqnr ?? -.infinity)
        case .sqnrB: -(r.errorB?.sqnr ?? -.infinity)
        case .gain: -((r.errorB?.sqnr ?? 0) - (r.errorA?.sqnr ?? 0))
        case .module, .status: 0
        }
      }
      if sort == .status, a.status != b.status { return a.status.rawValue < b.status.rawValue }
      let (ka, kb) = (key(a), key(b))
      if ka != kb { return ka < kb }
      return (a.module, a.baseName) < (b.module, b.baseName)
    }

    private func argsCell(_ r: DiffRow) -> String {
      if verbose {
        let a = JSONValue.arguments(r.argsA).render()
        let b = JSONValue.arguments(r.argsB).render()
        return a == b ? a : "A=\(a) B=\(b)"
      }
      return r.argumentDifferences.isEmpty ? "-" : r.argumentDifferences.joined(separator: "; ")
    }

    private func json(_ r: DiffRow) -> JSONValue {
      var pairs: [(String, JSONValue)] = [
        ("module", .string(r.module)), ("base_name", .string(r.baseName.rawValue)), ("status", .string(r.status.rawValue)),
        ("observer_a", r.observerA.map { .string($0) } ?? .null), ("observer_b", r.observerB.map { .string($0) } ?? .null),
        ("args_differences", .array(r.argumentDifferences.map { .string($0) })),
        ("shape_a", r.shapeA.map { .array($0.map { .int($0) }) } ?? .null),
        ("shape_b", r.shapeB.map { .array($0.map { .int($0) }) } ?? .null),
        ("max_abs_dscale", r.maxAbsoluteScaleDelta.map { .double($0) } ?? .null),
        ("max_rel_dscale", r.maxRelativeScaleDelta.map { .double($0) } ?? .null),
        ("mean_ratio_b_a", r.meanScaleRatio.map { .double($0) } ?? .null),
        ("zp_diffs", r.zeroPointDifferences.map { .int($0) } ?? .null),
        ("global_scale_a", r.globalScaleA.map { .float($0) } ?? .null),
        ("global_scale_b", r.globalScaleB.map { .float($0) } ?? .null),
      ]
      if verbose {
        pairs.append(("args_a", JSONValue.arguments(r.argsA)))
        pairs.append(("args_b", JSONValue.arguments(r.argsB)))
      }
      if metrics {
        pairs += [
          ("mse_a", r.errorA.map { .double($0.meanSquaredError) } ?? .null), ("mse_b", r.errorB.map { .double($0.meanSquaredError) } ?? .null),
          ("sqnr_a_db", r.errorA.map { .double($0.sqnr) } ?? .null), ("sqnr_b_db", r.errorB.map { .double($0.sqnr) } ?? .null),
          ("winner", r.winner.map { .string($0) } ?? .null),
        ]
      }
      return .object(pairs)
    }
  }
}
