import ArgumentParser
import CalibCore
import CalibFormats
import Foundation

/// `calib-bench observers --data FILE`: the cases of refbench.py on the same tensors.
struct ObserversBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "observers",
    abstract: "Time the observers on the tensors written by refbench.py --dump FILE.")

  @Option(help: "Safetensors file with float32 'act' (1, 2048, 4096) and 'w' (4096, 4096).")
  var data: String

  @Option(help: "Runs per case (median reported).")
  var `repeat` = 3

  @Option(help: "Only cases whose name contains this.")
  var filter: String?

  @Option(help: "Dtype the tensors are converted to first, as refbench.py --dtype (float32, bfloat16, float16).")
  var dtype: String = "float32"

  func run() throws {
    guard let dtype = FloatDType(rawValue: dtype) else {
      throw ValidationError("--dtype must be float32, bfloat16 or float16")
    }
    // refbench.py's case names end in "_bf16" / "_f16" for the narrower dtypes.
    let suffix = ["float32": "", "bfloat16": "_bf16", "float16": "_f16"][dtype.rawValue] ?? ""
    let elementBytes = dtype == .float32 ? 4 : 2
    let file = try SafetensorsFile(path: data)
    // `.to(dtype)`: round each value to nearest even, then compute in that dtype.
    func converted(_ t: Tensor) -> Tensor {
      Tensor(shape: t.shape, values: t.values.map(dtype.rounded), dtype: dtype)
    }
    let act = converted(try file.tensor("act"))
    let w = converted(try file.tensor("w"))
    let cases: [(String, Tensor, BaseName, QuantizationArgs, ObserverKind)] = [
      ("act_static_minmax_int8_tensor", act, .input, try QuantizationArgs(numBits: 8, strategy: .tensor), .staticMinMax),
      ("act_minmax_ema_fp8_tensor", act, .input, try QuantizationArgs(numBits: 8, type: .float, strategy: .tensor), .minMax),
      ("act_mse_int8_tensor", act, .input, try QuantizationArgs(numBits: 8, strategy: .tensor), .memorylessMSE),
      ("w_minmax_int8_channel", w, .weight, try QuantizationArgs(numBits: 8, strategy: .channel), .memorylessMinMax),
      ("w_minmax_int4_group128", w, .weight, try QuantizationArgs(numBits: 4, groupSize: 128, strategy: .group), .memorylessMinMax),
      ("w_mse_int4_group128", w, .weight, try QuantizationArgs(numBits: 4, groupSize: 128, strategy: .group), .memorylessMSE),
      ("w_nvfp4_minmax", w, .weight, try QuantizationArgs(numBits: 4, type: .float, groupSize: 16, strategy: .tensorGroup), .memorylessMinMax),
    ]
    for (caseName, x, base, args, kind) in cases where filter.map({ caseName.contains($0) }) ?? true {
      let name = caseName + suffix
      let seconds = try medianSeconds(self.repeat) {
        var observer = try Observer(kind: kind, baseName: base, args: args)
        var global: Float?
        if args.strategy == .tensorGroup { global = try observer.observeGlobalScale(x) }
        _ = try observer.observe(x, globalScale: global)
      }
      emit([
        ("case", name), ("threads", ProcessInfo.processInfo.activeProcessorCount), ("seconds", seconds),
        ("GBps", Double(x.elementCount * elementBytes) / seconds / 1e9),
      ])
    }
  }
}
