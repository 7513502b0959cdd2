import ArgumentParser
import CalibStore
import Foundation

extension CalibCommand {
  /// `calib record`: records a calibration session into a store.
  struct Record: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Record a calibration session (samples, per-step observer states, final qparams).",
      discussion: """
        Step files are safetensors dumps with keys <module>.<input|output|q|k|v>: one file \
        per calibration step, or several per step when each has a 'step' metadata entry \
        (a sequential pipeline writes one per layer). Weights come from --weights files \
        with keys <module>.weight (a Hugging Face model.safetensors works as it is, and so do \
        a sharded checkpoint's model.safetensors.index.json and a model directory). The \
        recipe is an llm-compressor QuantizationModifier recipe (YAML or JSON) or a bare \
        config_groups mapping. Weights are calibrated once before the first step, then each \
        step's activations, one transaction per step. A recording of weights alone (no \
        step files) is valid.

        A directory written by Samples/python/calib_oneshot.py (with its manifest.json) \
        records everything it lists, its recipe included: calib record STORE --run NAME \
        DIR. --recipe overrides the manifest's recipe.

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

    @Argument(help: "Step files (safetensors), in calibration order; or one recording directory with a manifest.json.")
    var steps: [String] = []

    @Flag(help: "Record samples holding NaN or ±inf (flagged) and skip them for observers.")
    var allowNonfinite = false

    @Flag(help: "Continue an interrupted or failed recording of the same files.")
    var resume = false

    @Flag(help: "Replace an existing run of the same name (refused while replayed runs use its samples).")
    var replace = false

    @Option(help: ArgumentHelp("model: every operation in the samples' dtype, as torch computes in a bf16/f16 model (what oneshot writes); float32: samples upcast first.", valueName: "model|float32"))
    var arithmetic: Arithmetic = .model

    @Option(help: "A free-text note stored with the run.")
    var note: String?

    @Flag(name: .shortAndLong, help: "No progress line.")
    var quiet = false

    @OptionGroup var output: OutputOptions

    /// A recording directory given as the only positional argument.
    private var directory: String? {
      var isDirectory: ObjCBool = false
      guard steps.count == 1, FileManager.default.fileExists(atPath: steps[0], isDirectory: &isDirectory), isDirectory.boolValue
      else { return nil }
      return steps[0]
    }

    func validate() throws {
      try RunName.validateArgument(run, option: "--run")
      if directory != nil { return }
      if steps.isEmpty && weights.isEmpty { throw ValidationError("give step files, --weights files, or a recording directory") }
      if recipe == nil && !resume { throw ValidationError("--recipe is required (except with --resume or a recording directory)") }
      if replace && resume { throw ValidationError("--replace and --resume cannot be combined: --resume continues the run, --replace starts it over") }
    }

    func run() async throws {
      let console = Console.current
      let recipeInput = try recipe.map { path -> (text: String, source: String) in
        (try RecipeFile.read(path), path)
      }
      var request = RecordRequest(runName: run, recipe: recipeInput, weightFiles: weights, stepFiles: steps)
      if let directory {
        let manifest = try RecordingManifest.load(directory: directory)
        request.stepFiles = manifest.stepFiles
        request.weightFiles = manifest.weightFiles + weights
        request.moduleTypes = manifest.moduleTypes
        if recipeInput == nil && !resume, let recipe = manifest.recipe, let text = manifest.recipeText {
          request.recipe = (text, (directory as NSString).appendingPathComponent(recipe))
        }
        if request.recipe == nil && !resume {
          throw ValidationError("\(directory)/\(RecordingManifest.fileName) names no recipe: give one with --recipe")
        }
      }
      // A store this command would create is created only for input it accepts.
      let inputs = FileManager.default.fileExists(atPath: store) ? nil : try Recorder.validate(request)
      let s = try CalibrationStore(path: store)
      request.allowNonFinite = allowNonfinite
      request.resume = resume
      request.replace = replace
      request.note = note
      request.arithmetic = arithmetic
      let line = ProgressLine(console: console, quiet: quiet)
      let summary = try Recorder(store: s).record(request, inputs: inputs) { p in
        line.update("step \(p.step)/\(p.steps)  tensors \(p.tensors)  \(ByteCount.format(p.bytes))  \(throughput(p.bytes, p.seconds))")
      }
      line.finish()
      for w in summary.warnings { console.line("warning: " + w) }
      console.line(
        "Recorded run \(summary.run): \(summary.tensors) tensors, \(ByteCount.format(summary.bytes)) from \(summary.steps) step\(summary.steps == 1 ? "" : "s") in \(String(format: "%.2f", summary.seconds)) s (\(throughput(summary.bytes, summary.seconds)))")
      if output.format == .json {
        console.out(JSONValue.object([
          ("run", .string(summary.run)), ("steps", .int(summary.steps)), ("tensors", .int(summary.tensors)),
          ("bytes", .int(Int(summary.bytes))), ("seconds", .double(summary.seconds)),
        ]).render(indent: 2) + "\n")
      }
    }
  }
}
