import ArgumentParser
import CalibCore
import CalibKernels
import CalibFormats
import Foundation

/// `calib-bench observers --data FILE`: the cases of refbench.py on the same tensors, and
/// those of Samples/python/refbench_presets.py (compressed-tensors' presets, which
/// refbench.py's cases predate), each against the machine's streaming-read bandwidth and,
/// with `--reference`, against the reference implementation run in the same session.
struct ObserversBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "observers",
    abstract: "Time the observers on the tensors written by refbench.py --dump FILE.")

  @Option(help: "Safetensors file with float32 'act' (1, 2048, 4096) and 'w' (4096, 4096).")
  var data: String

  @Option(help: "Runs per case in each round (the round keeps their median).")
  var `repeat` = 3

  @Option(help: "Rounds; ours, the bandwidth read and the reference alternate round by round.")
  var rounds = 3

  @Option(help: "Only cases whose name contains this.")
  var filter: String?

  @Option(help: "Dtype the tensors are converted to first, as refbench.py --dtype (float32, bfloat16, float16).")
  var dtype: String = "float32"

  @Option(help: "Python of the reference environment (setup.sh); adds reference_seconds and speedup.")
  var reference: String?

  @Option(help: "Path of refbench.py.")
  var refbench = "../shared/tools/reference/refbench.py"

  @Option(help: "Path of refbench_presets.py, the reference for the preset cases.")
  var presets = "Samples/python/refbench_presets.py"

  func run() throws {
    guard let dtype = FloatDType(rawValue: dtype) else {
      throw ValidationError("--dtype must be float32, bfloat16 or float16")
    }
    guard rounds >= 1, self.repeat >= 1 else { throw ValidationError("--rounds and --repeat must be at least 1") }
    let cases = try benchCases(dtype)
      .filter { c in filter.map { c.name.contains($0) } ?? true }
    let threads = ProcessInfo.processInfo.activeProcessorCount
    let referenceRunner = reference.map { ReferenceBench(python: $0, scripts: [refbench, presets]) }
    var ours = [String: Timings](), reads = [String: Timings](), readWrites = [String: Timings]()
    var theirs = [String: Timings]()
    for round in 0..<rounds {
      // Alternate which side goes first so that drift in the machine's load evens out.
      let referenceFirst = round % 2 == 1
      if referenceFirst, let runner = referenceRunner {
        try recordReference(runner, dtype: dtype, threads: threads, into: &theirs)
      }
      for c in cases {
        let (observe, read, readWrite) = try c.medianSeconds(self.repeat, threads: threads)
        ours[c.name, default: Timings()].append(observe)
        reads[c.name, default: Timings()].append(read)
        readWrites[c.name, default: Timings()].append(readWrite)
      }
      if !referenceFirst, let runner = referenceRunner {
        try recordReference(runner, dtype: dtype, threads: threads, into: &theirs)
      }
    }
    for c in cases {
      let mine = ours[c.name]!, read = reads[c.name]!, readWrite = readWrites[c.name]!
      var fields: [(String, Any)] = [
        ("case", c.name), ("threads", threads), ("rounds", rounds), ("seconds", mine.median), ("spread", mine.spread),
        // The lanes of the wide kernels that ran (16 AVX-512, 8 AVX2, 0 none: Swift's SSE2).
        ("vector_width", Int(calib_kernels_width())),
        ("GBps", Double(c.inputBytes) / mine.median / 1e9),
        ("bandwidth_GBps", Double(c.inputBytes) / read.median / 1e9),
        ("fraction_of_bandwidth", read.median / mine.median),
        // The fraction of bandwidth of reading the input once and then streaming out the
        // scales once: the most any implementation reaches.
        ("traffic_ceiling", read.median / readWrite.median),
      ]
      if let ref = theirs[c.name] {
        let speedup = RatioSummary(ref, over: mine)
        fields += [
          ("reference_seconds", ref.median), ("reference_spread", ref.spread),
          // The reference against the same read: a speed-up can be no more than
          // traffic_ceiling over this.
          ("reference_fraction_of_bandwidth", read.median / ref.median),
          ("speedup", speedup.median), ("speedup_spread", speedup.spread),
        ]
      }
      emit(fields)
    }
  }

  private func recordReference(
    _ runner: ReferenceBench, dtype: FloatDType, threads: Int, into timings: inout [String: Timings]
  ) throws {
    let seconds = try runner.secondsByCase(data: data, dtype: dtype.rawValue, threads: threads, repeats: self.repeat)
    for (name, s) in seconds { timings[name, default: Timings()].append(s) }
  }

  /// refbench.py's cases and refbench_presets.py's, with their names ("_bf16" / "_f16"
  /// appended for narrower dtypes).
  private func benchCases(_ dtype: FloatDType) throws -> [ObserverCase] {
    let suffix = ["float32": "", "bfloat16": "_bf16", "float16": "_f16"][dtype.rawValue] ?? ""
    let file = try SafetensorsFile(path: data)
    // `.to(dtype)`: round each value to nearest even, then compute in that dtype. bf16 and
    // f16 tensors hold their raw bits, as the store and the recorder give them to observers.
    func converted(_ t: Tensor) -> Tensor {
      switch dtype {
      case .bfloat16: return Tensor(shape: t.shape, bfloat16Bits: t.values.map(BFloat16.bits))
      case .float16: return Tensor(shape: t.shape, float16Bits: t.values.map { Float16($0).bitPattern })
      case .float32: return t
      }
    }
    let act = converted(try file.tensor("act"))
    let w = converted(try file.tensor("w"))
    let int8 = try QuantizationArgs(numBits: 8, strategy: .tensor)
    let int4Group = try QuantizationArgs(numBits: 4, groupSize: 128, strategy: .group)
    let table: [(String, Tensor, BaseName, QuantizationArgs, ObserverKind)] = [
      ("act_static_minmax_int8_tensor", act, .input, int8, .staticMinMax),
      ("act_minmax_ema_fp8_tensor", act, .input, try QuantizationArgs(numBits: 8, type: .float, strategy: .tensor), .minMax),
      ("act_mse_int8_tensor", act, .input, int8, .memorylessMSE),
      ("w_minmax_int8_channel", w, .weight, try QuantizationArgs(numBits: 8, strategy: .channel), .memorylessMinMax),
      ("w_minmax_int4_group128", w, .weight, int4Group, .memorylessMinMax),
      ("w_mse_int4_group128", w, .weight, int4Group, .memorylessMSE),
      ("w_nvfp4_minmax", w, .weight, try QuantizationArgs(numBits: 4, type: .float, groupSize: 16, strategy: .tensorGroup), .memorylessMinMax),
      // compressed-tensors 0.14's NVFP4 preset: its scales are rounded to FP8.
      ("w_nvfp4_preset_minmax", w, .weight, try QuantizationArgs(
        numBits: 4, type: .float, groupSize: 16, strategy: .tensorGroup, scaleDType: .float8E4M3FN, zpDType: .float8E4M3FN),
       .memorylessMinMax),
    ]
    return table.map { ObserverCase(name: $0.0 + suffix, input: $0.1, baseName: $0.2, args: $0.3, kind: $0.4) }
  }
}

/// One benchmark case: a fresh observer of `kind` fed `input` once (with its global scale
/// first for NVFP4's tensor-group strategy), as refbench.py times it.
struct ObserverCase {
  let name: String
  let input: Tensor
  let baseName: BaseName
  let args: QuantizationArgs
  let kind: ObserverKind

  /// The input's bytes in its own dtype, as refbench.py counts them.
  var inputBytes: Int { input.elementCount * (input.dtype == .float32 ? 4 : 2) }

  /// The medians of `repeats` observations, of as many streaming reads of the input's own
  /// bytes, and of as many such reads each followed by streaming writes of the scales'
  /// bytes, one after the other, so that all meet the same cache and machine state (see
  /// ``MemoryBandwidth``).
  func medianSeconds(_ repeats: Int, threads: Int) throws -> (observe: Double, read: Double, readWrite: Double) {
    let scaleBytes = try Self.scaleBytes(observe())
    return try withInputBytes { bytes in
      let bandwidth = MemoryBandwidth(reading: bytes, writing: scaleBytes, threads: threads)
      _ = bandwidth.readOnce(writing: true)
      var observing = Timings(), reading = Timings(), readingAndWriting = Timings()
      for _ in 0..<repeats {
        try observing.time { _ = try observe() }
        reading.append(bandwidth.readOnce())
        readingAndWriting.append(bandwidth.readOnce(writing: true))
      }
      return (observing.median, reading.median, readingAndWriting.median)
    }
  }

  /// The bytes of the scales as torch returns them, in the dtype of their arithmetic
  /// (refbench.py's cases are symmetric: their zero points are not counted); none for an
  /// empty input.
  private static func scaleBytes(_ p: QuantizationParameters?) -> Int {
    guard let p else { return 0 }
    return p.scale.elementCount * ElementType(p.scale.dtype).byteWidth
  }

  /// The input's bytes in its own dtype: bf16 or f16 bits, or float32 values.
  private func withInputBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    if let bits = input.bfloat16Bits ?? input.float16Bits { return try bits.withUnsafeBytes(body) }
    return try input.values.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0.prefix(inputBytes))) }
  }

  func observe() throws -> QuantizationParameters? {
    var observer = try Observer(kind: kind, baseName: baseName, args: args)
    var global: Float?
    if args.strategy == .tensorGroup { global = try observer.observeGlobalScale(input) }
    return try observer.observe(input, globalScale: global)
  }
}
