import ArgumentParser
import CalibStore
import Foundation

extension CalibCommand {
  /// `calib record`: records a calibration session into a store.
  struct Record: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Record a calibration session (samples, per-step observer states, final qparams).",
      discussion: """
        Step files are safetensors dumps, one per calibration step, with keys \
        <module>.<input|output|q|k|v>; weights come from --weights files with keys \
        <module>.weight (a Hugging Face model.safetensors works as it is). The recipe is an \
        llm-compressor QuantizationModifier recipe (YAML or JSON) or a bare config_groups \
        mapping. Weights are calibrated once before the first step, then each step's \
        activations in file order, one transaction per step.

        Example:
          % calib record calib.sqlite --run w8a8 --recipe Samples/recipes/w8a8-static.yaml \\
              --weights Samples/minilm/weights.safetensors Samples/minilm/step-*.safetensors
        """)

    @Argument(help: .newOrExistingStore)
    var store: String

    @Option(help: "Name of the new run.")
    var run: String

    @Option(help: "The recipe (YAML or JSON). Optional with --resume.")
    var recipe: String?

    @Option(help: ArgumentHelp("Safetensors file with <module>.weight tensors; repeatable.", valueName: "file"))
    var weights: [String] = []

    @Argument(help: "Step files (safetensors), in calibration order.")
    var steps: [String] = []

    @Flag(help: "Record samples holding NaN or ±inf (flagged) and skip them for observers.")
    var allowNonfinite = false

    @Flag(help: "Continue an interrupted or failed recording of the same files.")
    var resume = false

    @Flag(help: "Replace an existing run of the same name (refused while replayed runs use its samples).")
    var replace = false

    @Option(help: "A free-text note stored with the run.")
    var note: String?

    @Flag(name: .shortAndLong, help: "No progress line.")
    var quiet = false

    @OptionGroup var output: OutputOptions

    func validate() throws {
      if steps.isEmpty { throw ValidationError("give at least one step file") }
      try RunName.validateArgument(run, option: "--run")
      if recipe == nil && !resume { throw ValidationError("--recipe is required (except with --resume)") }
      if replace && resume { throw ValidationError("--replace and --resume cannot be combined: --resume continues the run, --replace starts it over") }
    }

    func run() async throws {
      let console = Console.current
      let recipeInput = try recipe.map { path -> (text: String, source: String) in
        (try RecipeFile.read(path), path)
      }
      let s = try CalibrationStore(path: store)
      var request = RecordRequest(runName: run, recipe: recipeInput, weightFiles: weights, stepFiles: steps)
      request.allowNonFinite = allowNonfinite
      request.resume = resume
      request.replace = replace
      request.note = note
      let line = ProgressLine(console: console, quiet: quiet)
      let summary = try Recorder(store: s).record(request) { p in
        line.update("step \(p.step)/\(p.steps)  tensors \(p.tensors)  \(ByteCount.format(p.bytes))  \(throughput(p.bytes, p.seconds))")
      }
      line.finish()
      for w in summary.warnings { console.err("warning: \(w)\n") }
      console.err(
        "Recorded run \(summary.run): \(summary.tensors) tensors, \(ByteCount.format(summary.bytes)) from \(summary.steps) steps in \(String(format: "%.2f", summary.seconds)) s (\(throughput(summary.bytes, summary.seconds)))\n")
      if output.format == .json {
        console.out(JSONValue.object([
          ("run", .string(summary.run)), ("steps", .int(summary.steps)), ("tensors", .int(summary.tensors)),
          ("bytes", .int(Int(summary.bytes))), ("seconds", .double(summary.seconds)),
        ]).render(indent: 2) + "\n")
      }
    }
  }
}
