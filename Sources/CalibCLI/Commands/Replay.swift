import ArgumentParser
import CalibCore
import CalibStore
import Foundation

extension CalibCommand {
  /// `calib replay`: re-runs observers with other settings on stored samples.
  struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Replay a recording with other observer settings, without the model.",
      discussion: """
        Settings start from the parent run's recipe (--recipe replaces it); --observer, \
        --set and --kwarg override fields, in every section that has arguments unless \
        qualified with weights., input_activations. or output_activations. The new run \
        stores its parent and exactly which settings differ. --sweep FIELD=V1,V2 makes one \
        run per combination, named <prefix><field>=<value>,..., reading each sample once.

        Replay re-runs observers on the samples as they were recorded: when output \
        fake-quantization settings change, the effect on downstream layers' inputs is not \
        propagated.

        Examples:
          % calib replay calib.sqlite --from w8a8 --name w8a8-mse --observer mse
          % calib replay calib.sqlite --from w8a8 --name w4 --set weights.num_bits=4 \\
              --set weights.strategy=group --set weights.group_size=128
          % calib replay calib.sqlite --from w8a8 --sweep weights.observer=memoryless_minmax,memoryless_mse \\
              --sweep weights.num_bits=4,8 --name-prefix sweep-
        """)

    @Argument(help: .store)
    var store: String

    @Option(help: "The run whose samples (and recipe) to start from.")
    var from: String

    @Option(help: "Name of the new run.")
    var name: String?

    @Option(help: "A recipe replacing the parent run's.")
    var recipe: String?

    @Option(help: "Observer for every section (memoryless_minmax, static_minmax, minmax, memoryless_mse, mse, or a peer: ort_minmax, ort_percentile, ort_entropy, ort_distribution, modelopt_max, modelopt_percentile, modelopt_entropy, modelopt_mse, modelopt_mse_sweep).")
    var observer: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("[SECTION.]FIELD=VALUE override of an argument; repeatable.", valueName: "setting"))
    var settings: [String] = []

    @Option(name: .customLong("kwarg"), help: ArgumentHelp("[SECTION.]KEY=VALUE observer keyword argument; repeatable.", valueName: "kwarg"))
    var kwargs: [String] = []

    @OptionGroup var filters: FilterOptions

    @Option(help: ArgumentHelp("[SECTION.]FIELD=V1,V2,... one run per value (cartesian product over --sweep flags).", valueName: "sweep"))
    var sweep: [String] = []

    @Option(help: "Prefix of the run names a sweep makes.")
    var namePrefix = ""

    @Option(help: ArgumentHelp("The observers' arithmetic (default: the parent run's): model or float32.", valueName: "model|float32"))
    var arithmetic: Arithmetic?

    @Option(help: "Most runs a --sweep may make (the product of its value counts).")
    var maxRuns = 64

    @Option(help: "Worker threads (default: all cores).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    @Flag(name: .shortAndLong, help: "No progress line.")
    var quiet = false

    @OptionGroup var output: OutputOptions

    func validate() throws {
      if name == nil && sweep.isEmpty { throw ValidationError("give --name for one run, or --sweep for several") }
      if name != nil && !sweep.isEmpty { throw ValidationError("--name and --sweep cannot be combined: sweeps name their runs (see --name-prefix)") }
      if threads < 1 { throw ValidationError("--threads must be at least 1") }
      if let name { try RunName.validateArgument(name, option: "--name") }
      if maxRuns < 1 { throw ValidationError("--max-runs \(maxRuns) is invalid: give at least 1") }
      // Counted before any combination is built, so a huge product costs nothing.
      var runs = 1
      for text in sweep {
        let values = text.drop { $0 != "=" }.dropFirst().split(separator: ",").count
        let (product, overflow) = runs.multipliedReportingOverflow(by: Swift.max(values, 1))
        runs = overflow ? Int.max : product
        if runs > maxRuns {
          let shown = overflow || runs == Int.max ? "more than \(Int.max)" : "at least \(runs)"
          throw ValidationError(
            "--sweep makes \(shown) runs, more than --max-runs \(maxRuns): sweep fewer values, or raise --max-runs")
        }
      }
    }

    func run() async throws {
      let console = Console.current
      let s = try CalibrationStore(path: store, mustExist: true)
      let engine = ReplayEngine(store: s)
      let parentRecipe = try engine.parentRecipe(of: from)
      var base = parentRecipe
      if let recipe {
        base = try Recipe(text: try RecipeFile.read(recipe), source: recipe)
      }
      let overrides = try optionOverrides()
      let combinations = try Self.sweepCombinations(sweep)
      let variants = try combinations.map { combo in
        try variant(of: base, parent: parentRecipe, overrides: overrides + combo, sweep: combo)
      }
      let filters = self.filters
      var request = ReplayRequest(from: from, variants: variants, include: { filters.includes($0, $1) }, threads: threads)
      request.arithmetic = arithmetic
      let line = ProgressLine(console: console, quiet: quiet)
      let summary = try engine.replay(request) { p in
        let eta = p.pairsDone > 0 ? p.seconds / Double(p.pairsDone) * Double(p.pairs - p.pairsDone) : 0
        line.update("pairs \(p.pairsDone)/\(p.pairs)  \(throughput(p.bytes, p.seconds))  ETA \(String(format: "%.0f", eta)) s")
      }
      line.finish()
      console.line(
        "Replayed \(summary.runs.count) run(s) from \(from): \(summary.pairs) module/base pairs, \(ByteCount.format(summary.bytes)) of samples in \(String(format: "%.2f", summary.seconds)) s (\(throughput(summary.bytes, summary.seconds)))")
      printVariants(variants, console: console)
    }

    /// The overrides of `--observer`, `--set` and `--kwarg`, in that order.
    private func optionOverrides() throws -> [SettingOverride] {
      var overrides: [SettingOverride] = []
      if let observer {
        _ = try ObserverKind(registryName: observer)
        overrides.append(SettingOverride(section: nil, field: "observer", value: observer))
      }
      overrides += try settings.map(SettingOverride.init(parsing:))
      overrides += try kwargs.map { try Self.kwargOverride($0) }
      return overrides
    }

    /// Every combination of one value per `--sweep FIELD=V1,V2,...` (one empty combination
    /// without sweeps), the first sweep varying slowest.
    static func sweepCombinations(_ sweep: [String]) throws -> [[SettingOverride]] {
      var combinations: [[SettingOverride]] = [[]]
      for text in sweep {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
          throw ReplayError.invalidSweep(text, reason: "expected FIELD=V1,V2,...")
        }
        let key = String(text[..<eq])
        let values = text[text.index(after: eq)...].split(separator: ",").map(String.init)
        if values.isEmpty { throw ReplayError.invalidSweep(text, reason: "no values") }
        let options = try values.map { try SettingOverride(parsing: key + "=" + $0) }
        combinations = combinations.flatMap { c in options.map { c + [$0] } }
      }
      return combinations
    }

    /// One run to replay: `base` with `overrides` applied, named by `--name` or by
    /// `--name-prefix` and the `sweep` values, and its differences from `parent`.
    private func variant(
      of base: Recipe, parent: Recipe, overrides: [SettingOverride], sweep combo: [SettingOverride]
    ) throws -> ReplayVariant {
      let replaced = recipe != nil
      let result = try base.applying(overrides)
      let runName = name ?? namePrefix + combo.map(\.description).joined(separator: ",")
      if name == nil { try RunName.validate(runName, option: "--name-prefix and --sweep (the generated name)") }
      let changed = replaced || !overrides.isEmpty
      var differences = result.differences(from: parent)
      if replaced { differences.insert("recipe: replaced by \(recipe ?? "")", at: 0) }
      return ReplayVariant(
        name: runName, recipe: result, recipeText: changed ? result.configGroupsJSON : parent.text,
        differences: differences)
    }

    /// The runs made, with their parent and differences, on stdout in `--format`.
    private func printVariants(_ variants: [ReplayVariant], console: Console) {
      switch output.format {
      case .json:
        console.out(JSONValue.array(variants.map { v in
          .object([("name", .string(v.name)), ("parent", .string(from)), ("differences", .array(v.differences.map { .string($0) }))])
        }).render(indent: 2) + "\n")
      case .table, .csv:
        var table = TextTable(headers: ["run", "parent", "differences"])
        table.rows = variants.map { [$0.name, from, $0.differences.joined(separator: "; ")] }
        console.out(table.render(output.format))
      }
    }

    /// `[SECTION.]KEY=VALUE` as an `observer_kwargs.KEY` override.
    static func kwargOverride(_ text: String) throws -> SettingOverride {
      var body = text
      var prefix = ""
      for s in SettingOverride.Section.allCases where text.hasPrefix(s.rawValue + ".") {
        prefix = s.rawValue + "."
        body = String(text.dropFirst(prefix.count))
      }
      return try SettingOverride(parsing: prefix + "observer_kwargs." + body)
    }
  }
}
