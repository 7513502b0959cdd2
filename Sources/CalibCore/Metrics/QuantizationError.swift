#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Accumulated quantization error of fake-quantized values against the originals.
///
/// ```
/// MSE  = Σ (QDQ(x) - x)² / n
/// SQNR = 10 · log10( Σ x² / Σ (QDQ(x) - x)² )   dB   (+∞ when the error is 0)
/// ```
/// Sums are accumulated in double; adding another tensor's error keeps the totals, so
/// several samples measure as one.
public struct QuantizationError: Sendable, Equatable {
  /// Σ x².
  public private(set) var signal: Double = 0
  /// Σ (QDQ(x) - x)².
  public private(set) var noise: Double = 0
  /// Number of elements measured.
  public private(set) var count: Int = 0

  public init() {}

  /// Adds the error of `quantized` against `original` (same length).
  public mutating func add(original: [Float], quantized: [Float]) {
    precondition(original.count == quantized.count, "length mismatch")
    var s = 0.0
    var e = 0.0
    for i in original.indices {
      let x = Double(original[i])
      let d = Double(quantized[i]) - x
      s += x * x
      e += d * d
    }
    signal += s
    noise += e
    count += original.count
  }

  /// Adds another measurement's totals.
  public mutating func add(_ other: QuantizationError) {
    signal += other.signal
    noise += other.noise
    count += other.count
  }

  /// Mean squared error; NaN when nothing was measured.
  public var meanSquaredError: Double { count == 0 ? .nan : noise / Double(count) }

  /// Signal-to-quantization-noise ratio in dB; +∞ for an exact quantization, NaN when
  /// nothing was measured.
  public var sqnr: Double {
    if count == 0 { return .nan }
    if noise == 0 { return .infinity }
    return 10 * log10(signal / noise)
  }

  /// The error of `value` fake-quantized as `baseName` with the given parameters (or
  /// dynamic ones when `args` are dynamic).
  public static func of(
    _ value: Tensor, as baseName: BaseName, args: QuantizationArgs, parameters: QuantizationParameters?,
    globalScale: Float?
  ) throws -> QuantizationError {
    var error = QuantizationError()
    let qdq = try args.fakeQuantized(value, as: baseName, parameters: parameters, globalScale: globalScale)
    error.add(original: value.values, quantized: qdq.values)
    return error
  }
}
