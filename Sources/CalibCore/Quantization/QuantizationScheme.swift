/// The arguments for the weights, inputs and outputs of a set of target modules:
/// compressed-tensors' `QuantizationScheme`.
///
/// Validation as the reference: input activations may use token, tensor, group,
/// tensor_group or attn_head only; actorder is rejected on activations; the format
/// `mixed-precision` is rejected.
public struct QuantizationScheme: Sendable, Hashable {
  public var targets: [String]
  public var weights: QuantizationArgs?
  public var inputActivations: QuantizationArgs?
  public var outputActivations: QuantizationArgs?
  public var format: String?
  /// The recipe's `kv_cache_scheme`, on attention modules: the arguments of the key and
  /// value states (not a scheme field in compressed-tensors, which keeps it beside the
  /// config groups; not encoded).
  public var kvCache: QuantizationArgs?

  /// Creates and validates a scheme.
  ///
  /// - Throws: ``QuantizationArgsError`` naming the section at fault.
  public init(
    targets: [String], weights: QuantizationArgs? = nil,
    inputActivations: QuantizationArgs? = nil, outputActivations: QuantizationArgs? = nil,
    format: String? = nil
  ) throws {
    if let input = inputActivations {
      let allowed: [QuantizationStrategy] = [.token, .tensor, .group, .tensorGroup, .attentionHead]
      guard allowed.contains(input.strategy) else {
        throw QuantizationArgsError.activationStrategyUnsupported(
          field: "input_activations", strategy: input.strategy)
      }
      if input.actorder != nil { throw QuantizationArgsError.activationActorder(field: "input_activations") }
    }
    if outputActivations?.actorder != nil {
      throw QuantizationArgsError.activationActorder(field: "output_activations")
    }
    if format == "mixed-precision" { throw QuantizationArgsError.mixedPrecisionFormat }
    self.targets = targets
    self.weights = weights
    self.inputActivations = inputActivations
    self.outputActivations = outputActivations
    self.format = format
  }

  /// The arguments that govern a base name: `weights` for weight, `output_activations`
  /// for output, `input_activations` for input and the query state q, and the KV cache's
  /// (else `input_activations`) for the key and value states k, v.
  public func arguments(for baseName: BaseName) -> QuantizationArgs? {
    switch baseName {
    case .weight: weights
    case .output: outputActivations
    case .input, .q: inputActivations
    case .k, .v: kvCache ?? inputActivations
    }
  }
}

extension QuantizationScheme: Codable {
  private static let fieldNames = [
    "targets", "weights", "input_activations", "output_activations", "format",
  ]

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: AnyCodingKey.self)
    for key in c.allKeys where !Self.fieldNames.contains(key.stringValue) {
      throw QuantizationArgsError.unknownField(key.stringValue)
    }
    guard let targets = try? c.decode([String].self, forKey: AnyCodingKey("targets")) else {
      throw QuantizationArgsError.invalidValue(
        field: "targets", value: c.contains(AnyCodingKey("targets")) ? "(not a list of names)" : "(missing)",
        expected: "a list of module names, class names or re: patterns")
    }
    try self.init(
      targets: targets,
      weights: try c.decodeIfPresent(QuantizationArgs.self, forKey: AnyCodingKey("weights")),
      inputActivations: try c.decodeIfPresent(
        QuantizationArgs.self, forKey: AnyCodingKey("input_activations")),
      outputActivations: try c.decodeIfPresent(
        QuantizationArgs.self, forKey: AnyCodingKey("output_activations")),
      format: try c.decodeIfPresent(String.self, forKey: AnyCodingKey("format")))
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: AnyCodingKey.self)
    try c.encode(targets, forKey: AnyCodingKey("targets"))
    try c.encode(weights, forKey: AnyCodingKey("weights"))
    try c.encode(inputActivations, forKey: AnyCodingKey("input_activations"))
    try c.encode(outputActivations, forKey: AnyCodingKey("output_activations"))
    try c.encode(format, forKey: AnyCodingKey("format"))
  }
}
