import ArgumentParser
import CalibCore
import CalibFormats
import Foundation

/// `calib-bench peers --data FILE`: the histogram observers of other toolkits (and
/// modelopt's MSE sweep) on the benchmark activation, the cases of
/// `Tests/Fixtures/peers/peerbench.py`. Each line reports `cpu_seconds`, the process CPU
/// time with the observer on one thread (the sources' own setting), and `seconds`, the
/// wall time on all cores; each the median of `--repeat` runs.
struct PeersBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "peers",
    abstract: "Time the onnxruntime and modelopt histogram observers on the activation written by refbench.py --dump FILE.")

  @Option(help: "Safetensors file with float32 'act' (1, 2048, 4096).")
  var data: String

  @Option(help: "Runs per case (median reported).")
  var `repeat` = 3

  @Option(help: "Only cases whose name contains this.")
  var filter: String?

  /// Each case observes the activation four times, scaled by these factors, so that the
  /// histogram widens (or, for |x| histograms, grows bins) after the first step.
  static let stepScales: [Float] = [1, 1.5, 0.5, 2]

  /// CPU time of the whole process (all threads), as Python's `time.process_time()`:
  /// comparable with the reference on a machine that other jobs keep busy.
  static func processCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
  }

  func run() throws {
    let act = try SafetensorsFile(path: data).tensor("act")
    let steps = Self.stepScales.map { s in Tensor(shape: act.shape, values: act.values.map { $0 * s }) }
    let args = try QuantizationArgs(numBits: 8, strategy: .tensor)
    let cases: [(String, ObserverKind)] = [
      ("ort_percentile_act_4steps", .ortPercentile), ("ort_entropy_act_4steps", .ortEntropy),
      ("ort_distribution_act_4steps", .ortDistribution), ("modelopt_percentile_act_4steps", .modelOptPercentile),
      ("modelopt_entropy_act_4steps", .modelOptEntropy), ("modelopt_mse_act_4steps", .modelOptMSE),
      ("modelopt_mse_sweep_act_4steps", .modelOptMSESweep),
    ]
    for (name, kind) in cases where filter.map({ name.contains($0) }) ?? true {
      var observer = try Observer(kind: kind, baseName: .input, args: args)
      // CPU time on one thread, as the sources run: with both cores counting, each
      // thread takes longer (shared cache and memory bandwidth, the pool's wake-ups), so
      // the process's CPU time would measure the machine's contention as well as the
      // work. Wall time on all cores is measured separately.
      observer.runsInParallel = false
      var cpu: [Double] = []
      _ = try medianSeconds(self.repeat) {
        let start = Self.processCPUSeconds()
        observer.state = ObserverState()
        for x in steps { _ = try observer.observe(x) }
        cpu.append(Self.processCPUSeconds() - start)
      }
      observer.runsInParallel = true
      let seconds = try medianSeconds(self.repeat) {
        observer.state = ObserverState()
        for x in steps { _ = try observer.observe(x) }
      }
      emit([
        ("case", name), ("threads", ProcessInfo.processInfo.activeProcessorCount), ("seconds", seconds),
        ("cpu_seconds", cpu.sorted()[cpu.count / 2]), ("bins", observer.state.histogram?.counts.count ?? 0),
        ("min", Double(observer.state.minValues?.values.first ?? .nan)),
        ("max", Double(observer.state.maxValues?.values.first ?? .nan)),
      ])
    }
  }
}
