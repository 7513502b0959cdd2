import ArgumentParser
import CalibCore
import CalibStore
import Foundation

extension CalibCommand {
  /// `calib show STORE RUN`: final (and per-step) quantization parameters.
  struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Show a run's final quantization parameters (and per-step states with --steps).",
      discussion: """
        --format json is the scripting contract: an array with one object per (module, base \
        name) holding module, base_name, arithmetic (model or float32), calibrated (false \
        for an activation whose observer received no samples: it has no scale), observer, args \
        (compressed-tensors JSON), and scale, zero_point, global_scale, each null or \
        {"shape", "dtype", "values"} with dtype the one torch returns (bfloat16 scales for \
        bf16 samples in model arithmetic); with --steps a "steps" array of {step, scale, \
        zero_point, global_scale, min_vals, max_vals}, plus "histogram" ({counts, edges, \
        min, max, threshold}) for histogram observers such as ort_percentile and "sweep" \
        ({initial_amax, losses}) for modelopt_mse_sweep. Non-finite \
        numbers are the strings "nan", "inf", "-inf".

        Example:
          % calib show calib.sqlite w8a8 --module 'encoder.layer.0.*' --format json
        """)

    @Argument(help: .store)
    var store: String

    @Argument(help: "The run to show.")
    var run: String

    @OptionGroup var filters: FilterOptions

    @Flag(help: "Include the observer state after every step.")
    var steps = false

    @OptionGroup var output: OutputOptions

    func run() async throws {
      let s = try CalibrationStore(path: store, readOnly: true)
      let summary = try s.run(named: run)
      let finals = try s.finalQParams(ofRun: run).filter { filters.includes($0.module, $0.baseName) }
      let states = steps ? try s.stepStates(ofRun: run).filter { filters.includes($0.module, $0.baseName) } : []
      let console = Console.current
      switch output.format {
      case .json:
        console.out(JSONValue.array(finals.map { f in
          jsonEntry(f, arithmetic: summary.arithmetic, steps: steps ? states.filter { $0.module == f.module && $0.baseName == f.baseName } : nil)
        }).render(indent: 2) + "\n")
      case .table, .csv:
        console.line("run \(run): \(summary.arithmetic.rawValue) arithmetic")
        var table = TextTable(headers: ["module", "base", "observer", "step", "shape", "scale_dtype", "scale_min", "scale_max", "scale_mean", "zp_min", "zp_max", "global_scale"])
        let entries = steps ? states : finals
        for e in entries { table.rows.append(row(e)) }
        console.out(table.render(output.format))
      }
    }

    private func row(_ e: QParamsEntry) -> [String] {
      let scale = e.parameters.scale?.values ?? []
      let zp = e.parameters.zeroPoint?.values ?? []
      func f(_ x: Float?) -> String { x.map { $0.description } ?? "-" }
      let mean = scale.isEmpty ? nil : Float(scale.reduce(0.0) { $0 + Double($1) } / Double(scale.count))
      return [
        e.module, e.baseName.rawValue, (e.observer ?? "-") + (e.calibrated ? "" : " (uncalibrated)"), e.step.map(String.init) ?? "final",
        e.parameters.scale.map { "\($0.shape)" } ?? "-", e.parameters.scale?.dtype.rawValue ?? "-", f(scale.min()), f(scale.max()), f(mean), f(zp.min()), f(zp.max()),
        f(e.parameters.globalScale),
      ]
    }

    private func jsonEntry(_ e: QParamsEntry, arithmetic: Arithmetic, steps: [QParamsEntry]?) -> JSONValue {
      var pairs: [(String, JSONValue)] = [
        ("module", .string(e.module)), ("base_name", .string(e.baseName.rawValue)), ("arithmetic", .string(arithmetic.rawValue)),
        ("calibrated", .bool(e.calibrated)),
        ("observer", e.observer.map { .string($0) } ?? .null),
        ("args", JSONValue.arguments(e.argsJSON)),
      ]
      pairs += parameterPairs(e)
      if let steps {
        pairs.append(("steps", .array(steps.map { st in
          .object([("step", .int(st.step ?? 0))] + parameterPairs(st) + [
            ("min_vals", JSONValue.tensor(st.state.minValues, dtype: st.state.minValues?.dtype.rawValue ?? "float32")),
            ("max_vals", JSONValue.tensor(st.state.maxValues, dtype: st.state.maxValues?.dtype.rawValue ?? "float32")),
          ] + histogramPairs(st.state.histogram) + sweepPairs(st.state.sweep))
        })))
      }
      return .object(pairs)
    }

    /// A histogram observer's running histogram, or nothing.
    private func histogramPairs(_ h: CalibrationHistogram?) -> [(String, JSONValue)] {
      guard let h else { return [] }
      return [
        ("histogram", .object([
          ("counts", .array(h.counts.map { .int(Int($0)) })), ("edges", .array(h.edges.map { .float($0) })),
          ("min", .float(h.minimum)), ("max", .float(h.maximum)), ("threshold", h.threshold.map { .float($0) } ?? .null),
        ]))
      ]
    }

    /// The MSE sweep's initial amax and summed losses (candidate-major), or nothing.
    private func sweepPairs(_ s: MSESweepState?) -> [(String, JSONValue)] {
      guard let s else { return [] }
      return [
        ("sweep", .object([
          ("initial_amax", .array(s.initialAmax.map { .float($0) })),
          ("losses", .array(s.losses.map { .array($0.map { .float($0) }) })),
        ]))
      ]
    }

    private func parameterPairs(_ e: QParamsEntry) -> [(String, JSONValue)] {
      let zpType = (e.parameters.zeroPointDType?.rawValue ?? "torch.int8").replacingOccurrences(of: "torch.", with: "")
      return [
        ("scale", JSONValue.tensor(e.parameters.scale, dtype: e.parameters.scale?.dtype.rawValue ?? "float32")),
        ("zero_point", JSONValue.tensor(e.parameters.zeroPoint, dtype: zpType)),
        ("global_scale", JSONValue.tensor(e.parameters.globalScale.map { Tensor(shape: [1], values: [$0]) }, dtype: "float32")),
      ]
    }
  }
}
