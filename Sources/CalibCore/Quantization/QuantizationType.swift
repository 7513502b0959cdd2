/// The number family quantized values belong to (compressed-tensors `type`).
public enum QuantizationType: String, Sendable, Codable, CaseIterable {
  /// Two's-complement integers of `num_bits` bits.
  case int
  /// Minifloats: FP8 E4M3FN for 8 bits, FP4 E2M1 for 4 bits.
  case float
}
