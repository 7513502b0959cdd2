import CalibKernels

/// The MSE search's float32 integer terms `|QDQ(x) - x| ^ norm` on the widest vectors the
/// CPU has: 16 lanes with AVX-512, 8 with AVX2 (`CalibKernels`, chosen at run time).
///
/// Swift compiles all of CalibCore for the x86-64 baseline, SSE2, whose eight-lane
/// vectors take two instructions per operation and sixteen registers; the search's
/// chain of divide, round, clamp and power then spills. The C kernels perform the same
/// operations as ``IntegerQDQ``/``SymmetricIntegerQDQ`` with ``Float32Lanes``, in the same
/// order and never fused, then ``SquarePower``, ``CubePower``, ``TorchPower`` (inline rather
/// than a call per eight lanes) or ``FastPower`` (fused where those lanes fuse); where one
/// instruction gives exactly what several of the lanes' operations give (a rounding to an
/// integer, an exponent, a power of two), it stands in for them. So a search gives the
/// same bits with or without them (`WideMSETermsTests` compares them lane by lane).
///
/// f16 values and scales, on AVX-512 only, take `calib_f16_mse_terms`: the same integer
/// QDQ with every result rounded to f16 by the CPU's conversion (`vcvtps2ph` and back)
/// instead of the lanes' bit arithmetic, then ``SquarePower``, ``CubePower`` or
/// ``Float16PowerTable`` (sixteen scalar loads).
///
/// Scope: float32 and f16 values and scales, integer types; every other search keeps the
/// portable lanes.
struct WideMSETerms: Sendable {
  // Unchecked for the f16 parameters' table pointer: it points into the power table the
  // case holds, which nobody writes after its init.
  private enum Kernel: @unchecked Sendable {
    case float32(calib_mse_terms_params)
    /// With the power table its parameters point into, kept alive here.
    case float16(calib_f16_mse_terms_params, Float16PowerTable?)
  }

  private let kernel: Kernel
  let width: Int

  /// The kernel for this search's lanes, or `nil` where it has none (another type, dtype
  /// or power, or a CPU without AVX2; without AVX-512 for f16).
  init?<Q: LaneQDQ, P: LanePower, R: LaneRounding>(_ qdq: Q, _ power: P, _ rounding: R.Type, width: Int = WideKernels.width) {
    guard width > 0 else { return nil }
    switch R.dtype {
    case .float32:
      guard let parameters = Self.float32Parameters(qdq, power) else { return nil }
      kernel = .float32(parameters)
    case .float16:
      guard width == 16, let (parameters, table) = Self.float16Parameters(qdq, power) else { return nil }
      kernel = .float16(parameters, table)
    case .bfloat16:
      return nil
    }
    self.width = width
  }

  /// The clamp bounds of an integer QDQ on `R`'s lanes, and whether it is symmetric.
  private static func integerBounds<Q: LaneQDQ, R: LaneRounding>(
    _ qdq: Q, _ rounding: R.Type
  ) -> (lower: Float, upper: Float, symmetric: Int32)? {
    if let integer = qdq as? SymmetricIntegerQDQ<R> { return (integer.lowerBound, integer.upperBound, 1) }
    if let integer = qdq as? IntegerQDQ<R> { return (integer.lowerBound, integer.upperBound, 0) }
    return nil
  }

  /// 2 for the square, 3 for the cube, the kernels' codes for those powers.
  private static func integerExponent<P: LanePower>(_ power: P) -> Int32? {
    power is SquarePower ? 2 : power is CubePower ? 3 : nil
  }

  private static func float32Parameters<Q: LaneQDQ, P: LanePower>(_ qdq: Q, _ power: P) -> calib_mse_terms_params? {
    guard let bounds = integerBounds(qdq, Float32Lanes.self) else { return nil }
    var parameters = calib_mse_terms_params()
    (parameters.lower, parameters.upper, parameters.symmetric) = bounds
    if let exponent = integerExponent(power) {
      parameters.exponent = exponent
    } else if let torch = power as? TorchPower {
      (parameters.exponent, parameters.norm) = (0, torch.norm)
    } else if let fast = power as? FastPower {
      (parameters.exponent, parameters.norm) = (1, fast.norm)
      (parameters.high, parameters.low, parameters.floor, parameters.ceiling) = (fast.high, fast.low, fast.floor, fast.ceiling)
      (parameters.l0, parameters.l1, parameters.l2, parameters.l3) = (fast.l0, fast.l1, fast.l2, fast.l3)
      (parameters.x0, parameters.x1, parameters.x2, parameters.x3) = (fast.x0, fast.x1, fast.x2, fast.x3)
      (parameters.x4, parameters.x5, parameters.x6) = (fast.x4, fast.x5, fast.x6)
    } else {
      return nil
    }
    return parameters
  }

  private static func float16Parameters<Q: LaneQDQ, P: LanePower>(
    _ qdq: Q, _ power: P
  ) -> (calib_f16_mse_terms_params, Float16PowerTable?)? {
    guard let bounds = integerBounds(qdq, Float16Lanes.self) else { return nil }
    var parameters = calib_f16_mse_terms_params()
    (parameters.lower, parameters.upper, parameters.symmetric) = bounds
    if let exponent = integerExponent(power) {
      parameters.exponent = exponent
      return (parameters, nil)
    }
    guard let table = power as? Float16PowerTable else { return nil }
    (parameters.exponent, parameters.table) = (0, table.entries)
    return (parameters, table)
  }

  /// Terms per batch of steps computed in one call: the batch's terms stay in L1 (16 KiB)
  /// until they are summed.
  static let batchTerms = 4096

  /// Adds Σ |QDQ(x) - x|^norm over `n` values at `p` to `sums[i]` for every step i < steps,
  /// each step's terms in order (as ``MSEGridSearch/stepSums(_:_:steps:scales:zeros:_:_:_:into:)``).
  func addSums(
    _ p: UnsafePointer<Float>, _ n: Int, steps: Int, scales: UnsafePointer<Float>, zeros: UnsafePointer<Float>,
    into sums: UnsafeMutablePointer<TorchSum>
  ) {
    forEachStep(p, n, steps: steps, scales: scales, zeros: zeros) { i, terms in
      sums[i].add(contentsOf: terms, count: n)
    }
  }

  /// Gives `body(i, Σ terms of step i)` for every step i < steps, over `32 · rows` values
  /// (1 ≤ rows < 16): each total is `calib_float32_rows_totals`, torch's sum of
  /// whole rows, bypassing the general ``TorchSum`` (a group of 128 is four rows). For
  /// float32 values only: torch sums an f16 tensor in another order.
  ///
  /// - Parameter scratch: room for ``scratchCount(_:)`` floats of `32 · rows`, so that a
  ///   caller looping over many small parameters allocates it once.
  @inline(__always)
  func rowTotals(
    _ p: UnsafePointer<Float>, rows: Int, steps: Int, scales: UnsafePointer<Float>, zeros: UnsafePointer<Float>,
    scratch: UnsafeMutablePointer<Float>, _ body: (Int, Float) -> Void
  ) {
    if case .float16 = kernel { preconditionFailure("float32 row totals of f16 terms") }
    // A batch's totals in one call (`calib_float32_rows_totals`, the same additions).
    withUnsafeTemporaryAllocation(of: Float.self, capacity: steps) { totals in
      // Non-nil: steps > 0 whenever a batch runs.
      guard let totals = totals.baseAddress else { return }
      forEachBatch(p, 32 &* rows, steps: steps, scales: scales, zeros: zeros, scratch: scratch) { first, count, terms in
        calib_float32_rows_totals(terms, rows, count, totals)
        for k in 0..<count { body(first &+ k, totals[k]) }
      }
    }
  }

  /// Floats of scratch a batch of steps over `n` values takes.
  static func scratchCount(_ n: Int) -> Int { Swift.max(batchTerms, n) &+ slack }

  /// Gives `body(i, terms of step i)` for every step i < steps, in order (see
  /// ``forEachBatch(_:_:steps:scales:zeros:scratch:_:)``).
  @inline(__always)
  private func forEachStep(
    _ p: UnsafePointer<Float>, _ n: Int, steps: Int, scales: UnsafePointer<Float>, zeros: UnsafePointer<Float>,
    _ body: (Int, UnsafePointer<Float>) -> Void
  ) {
    forEachBatch(p, n, steps: steps, scales: scales, zeros: zeros) { first, count, terms in
      for k in 0..<count { body(first &+ k, terms + k &* n) }
    }
  }

  /// Gives `body(first, count, terms)` for batches of steps `first ..< first + count`
  /// covering every step i < steps in order, the batch's terms computed into one buffer
  /// (``batchTerms`` at a time; step `first + k`'s at `terms + k · n`): `scratch`, or a
  /// temporary one.
  @inline(__always)
  private func forEachBatch(
    _ p: UnsafePointer<Float>, _ n: Int, steps: Int, scales: UnsafePointer<Float>, zeros: UnsafePointer<Float>,
    scratch: UnsafeMutablePointer<Float>? = nil, _ body: (Int, Int, UnsafePointer<Float>) -> Void
  ) {
    guard n > 0 && steps > 0 else { return }
    let batch = Swift.max(1, Swift.min(steps, Self.batchTerms / n))
    func run(_ terms: UnsafeMutablePointer<Float>) {
      var first = 0
      while first < steps {
        let count = Swift.min(batch, steps &- first)
        compute(p, n, steps: count, scales: scales + first, zeros: zeros + first, into: terms)
        body(first, count, terms)
        first &+= count
      }
    }
    if let scratch { return run(scratch) }
    // Non-nil: capacity ≥ 1.
    withUnsafeTemporaryAllocation(of: Float.self, capacity: batch &* n &+ Self.slack) { run($0.baseAddress!) }
  }

  /// Floats past `steps · n` that ``compute(_:_:steps:scales:zeros:into:)`` may write.
  static let slack = 16

  /// `terms[i · n + j]` := the term of value j at step i, for i < steps, j < n; `terms`
  /// has room for ``slack`` more.
  func compute(
    _ p: UnsafePointer<Float>, _ n: Int, steps: Int, scales: UnsafePointer<Float>, zeros: UnsafePointer<Float>,
    into terms: UnsafeMutablePointer<Float>
  ) {
    switch kernel {
    case .float32(let parameters):
      withUnsafePointer(to: parameters) { parameters in
        calib_mse_terms(Int32(width), p, n, steps, scales, zeros, parameters, terms)
      }
    case .float16(let parameters, let table):
      withExtendedLifetime(table) {
        withUnsafePointer(to: parameters) { parameters in
          calib_f16_mse_terms(p, n, steps, scales, zeros, parameters, terms)
        }
      }
    }
  }
}
