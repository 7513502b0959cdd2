import ArgumentParser
import CalibCore
import CalibFormats
import CalibStore
import Foundation

extension CalibCommand {
  /// `calib export STORE RUN OUT`: final qparams under compressed-tensors' names.
  struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Export a run's final parameters as compressed-tensors checkpoint tensors.",
      discussion: """
        Writes OUT as safetensors with <module>.weight_scale, .weight_zero_point (asymmetric \
        only), .weight_global_scale, .input_scale, .input_zero_point, .input_global_scale, \
        .output_scale, … and <attention module>.q_scale/k_scale/v_scale. NVFP4 local scales are \
        FP8 E4M3, MXFP4 scales uint8 exponents, global scales float32; other scales in the \
        dtype torch returned them in (bf16 for a bf16 model in model arithmetic), or converted \
        with --scale-dtype float32 (exact) or model (the recorded model dtype, as a \
        checkpoint holds them). --format json writes the same tensors as JSON to OUT ('-' for stdout).

        Example:
          % calib export calib.sqlite nvfp4 nvfp4-qparams.safetensors
        """)

    @Argument(help: .store)
    var store: String

    @Argument(help: "The run to export.")
    var run: String

    @Argument(help: "Output file (safetensors, or JSON with --format json; '-' for stdout).")
    var out: String

    @Option(help: "Dtype of int/FP8 scales: stored (as the run computed them), float32 (exact) or model (the recorded model dtype).")
    var scaleDtype: ExportScaleDType = .stored

    @Option(help: ArgumentHelp("Activations whose observers got no samples (MoE experts without tokens): refuse (default), skip, or sibling-max (the layer's experts' largest scale, what vLLM's fused MoE uses).", valueName: "policy"))
    var uncalibrated: UncalibratedPolicy = .refuse

    @OptionGroup var output: OutputOptions

    func validate() throws {
      if out == "-" && output.format != .json {
        throw ValidationError("OUT '-' is stdout, which takes JSON only: add --format json, or give a file name such as qparams.safetensors")
      }
    }

    func run() async throws {
      let s = try CalibrationStore(path: store, readOnly: true)
      // `validate()` allows '-' with JSON only.
      let destination = out == "-" ? nil : try ExportDestination(path: out, store: store)
      let (tensors, metadata) = try s.exportTensors(ofRun: run, scaleDType: scaleDtype, uncalibrated: uncalibrated)
      let console = Console.current
      if output.format == .json {
        let text = JSONValue.array(tensors.map { t in
          .object([
            ("name", .string(t.name)), ("dtype", .string(t.dtype.rawValue)), ("shape", .array(t.shape.map { .int($0) })),
            ("values", .array(t.dtype.decode(t.bytes).map { .float($0) })),
          ])
        }).render(indent: 2) + "\n"
        if let destination {
          try destination.write(Data(text.utf8))
        } else {
          console.out(text)
        }
      } else {
        try SafetensorsWriter(tensors: tensors, metadata: metadata).write(to: out)
        var table = TextTable(headers: ["tensor", "dtype", "shape"])
        table.rows = tensors.map { [$0.name, $0.dtype.rawValue, "\($0.shape)"] }
        console.out(table.render(output.format))
      }
      try console.checkOutput()
      console.line("Exported \(tensors.count) tensors of run \(run) to \(out)")
    }
  }
}

extension ExportScaleDType: ExpressibleByArgument {}

extension UncalibratedPolicy: ExpressibleByArgument {}
