import CalibCore
import Testing

/// ``Observer/runsInParallel`` changes only where the work runs, never a result.
@Suite struct ObserverThreadingTests {
  @Test(arguments: [FloatDType.float32, .bfloat16])
  func serialAndParallelObservationsAgree(_ dtype: FloatDType) throws {
    var generator = SystemRandomNumberGenerator()
    let values = (0..<(1 << 16)).map { _ in dtype.rounded(Float.random(in: -3...3, using: &generator)) }
    let x = Tensor(shape: [128, 512], values: values, dtype: dtype)
    for (kind, args) in [
      (ObserverKind.memorylessMinMax, try QuantizationArgs(numBits: 8, strategy: .tensor)),
      (.memorylessMSE, try QuantizationArgs(numBits: 4, groupSize: 128, strategy: .group)),
      (.memorylessMSE, try QuantizationArgs(numBits: 8, strategy: .tensor)),
    ] {
      var parallel = try Observer(kind: kind, baseName: .weight, args: args)
      var serial = parallel
      serial.runsInParallel = false
      let a = try parallel.observe(x)
      let b = try serial.observe(x)
      #expect(a == b, "\(kind) \(args.strategy)")
    }
  }
}
