import ArgumentParser
import CalibCore
import CalibFormats
import CalibStore
import Foundation

extension CalibCommand {
  /// `calib import-qparams STORE --run NAME FILE...`: a checkpoint's qparams as a run.
  struct ImportQParams: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "import-qparams",
      abstract: "Import quantization parameters from checkpoint safetensors into a run.",
      discussion: """
        Reads <module>.<base>_scale, _zero_point and _global_scale tensors from one or more \
        safetensors files (a sharded checkpoint: give model.safetensors.index.json or the \
        shards) into a run of kind imported, to diff a published checkpoint against recorded \
        and replayed runs. Arguments come from calib export metadata or the checkpoint's \
        config.json. Unknown tensors are ignored and counted; malformed ones are errors.

        Example:
          % calib import-qparams calib.sqlite --run published ckpt/model.safetensors.index.json
        """)

    @Argument(help: .store)
    var store: String

    @Option(help: "Name of the new run.")
    var run: String

    @Argument(help: "Checkpoint safetensors files or model.safetensors.index.json.")
    var files: [String]

    @Option(help: "A free-text note stored with the run.")
    var note: String?

    @OptionGroup var output: OutputOptions

    func validate() throws {
      if files.isEmpty { throw ValidationError("give at least one safetensors file or index") }
      try RunName.validateArgument(run, option: "--run")
    }

    func run() async throws {
      // Read and checked first: a store this command creates is created only for a
      // checkpoint it accepts.
      let checkpoint = try CheckpointParameters(files: files)
      let s = try CalibrationStore(path: store)
      let summary = try s.importQParams(run: run, checkpoint, note: note)
      let console = Console.current
      for w in summary.warnings { console.line("warning: " + w) }
      console.line(
        "Imported run \(summary.run): \(summary.pairs) module/base pairs from \(summary.tensors) tensors in \(summary.files) file(s); ignored \(summary.ignored) other tensors"
          + (summary.withoutArguments > 0 ? "; \(summary.withoutArguments) pairs without arguments" : ""))
      if output.format == .json {
        console.out(JSONValue.object([
          ("run", .string(summary.run)), ("files", .int(summary.files)), ("tensors", .int(summary.tensors)),
          ("ignored", .int(summary.ignored)), ("pairs", .int(summary.pairs)), ("without_arguments", .int(summary.withoutArguments)),
        ]).render(indent: 2) + "\n")
      }
    }
  }
}
