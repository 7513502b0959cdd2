/// The representable range of quantized values, `calculate_range`:
///
/// ```
/// type     q_min       q_max        bit range
/// int b    -2^b / 2    2^b / 2 - 1  2^b - 1
/// fp8      -448        448          896
/// fp4      -6          6            12
/// ```
public struct QuantizedRange: Sendable, Hashable {
  public let lowerBound: Float
  public let upperBound: Float

  /// The range for the given arguments (their type and bit width).
  public init(_ args: QuantizationArgs) {
    switch args.type {
    case .int:
      // Python computes 2**b / 2 in double precision; torch.tensor stores it as float32.
      let half = Double(sign: .plus, exponent: args.numBits, significand: 1) / 2
      lowerBound = Float(-half)
      upperBound = Float(half - 1)
    case .float:
      let m = args.numBits == 4 ? Float4E2M1.greatestFiniteMagnitude : Float8E4M3.greatestFiniteMagnitude
      lowerBound = -m
      upperBound = m
    }
  }

  /// `q_max - q_min` in float32.
  public var width: Float { upperBound - lowerBound }
}
