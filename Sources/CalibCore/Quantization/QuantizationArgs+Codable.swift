extension QuantizationArgs: Codable {
  /// The JSON field names, in compressed-tensors' order.
  public static let fieldNames = [
    "num_bits", "type", "symmetric", "group_size", "strategy", "block_structure", "dynamic",
    "actorder", "scale_dtype", "zp_dtype", "observer", "observer_kwargs",
  ]

  /// Decodes compressed-tensors JSON (or YAML through a Codable decoder), with its
  /// leniencies: case-insensitive enum strings, `block_structure` as `"RxC"`, `dynamic`
  /// as a bool or `"local"`, `actorder` as a bool or name. Unknown fields are rejected.
  public init(from decoder: any Decoder) throws {
    let fields = ArgsFields(try decoder.container(keyedBy: AnyCodingKey.self))
    for key in fields.container.allKeys where !Self.fieldNames.contains(key.stringValue) {
      throw QuantizationArgsError.unknownField(key.stringValue)
    }
    let type = try fields.quantizationType()
    let strategy = try fields.strategy()
    let block = try fields.blockStructure()
    let dynamic = try fields.dynamic()
    let actorder = try fields.actorder()
    let kwargs = try fields.observerKwargs()
    let symmetric = try fields.symmetric()
    try self.init(
      numBits: try fields.int("num_bits") ?? 8, type: type, symmetric: symmetric,
      groupSize: try fields.int("group_size"), strategy: strategy, blockStructure: block,
      dynamic: dynamic, actorder: actorder, scaleDType: try fields.dtype("scale_dtype"),
      zpDType: try fields.dtype("zp_dtype"), observer: try fields.string("observer"), observerKwargs: kwargs)
  }

  /// Encodes compressed-tensors' JSON: every field, the resolved strategy, and
  /// `zp_dtype` as null when symmetric (as its serializer does).
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: AnyCodingKey.self)
    try c.encode(numBits, forKey: AnyCodingKey("num_bits"))
    try c.encode(type.rawValue, forKey: AnyCodingKey("type"))
    try c.encode(symmetric, forKey: AnyCodingKey("symmetric"))
    try c.encode(groupSize, forKey: AnyCodingKey("group_size"))
    try c.encode(strategy.rawValue, forKey: AnyCodingKey("strategy"))
    try c.encode(blockStructure, forKey: AnyCodingKey("block_structure"))
    switch dynamic {
    case .off: try c.encode(false, forKey: AnyCodingKey("dynamic"))
    case .on: try c.encode(true, forKey: AnyCodingKey("dynamic"))
    case .local: try c.encode("local", forKey: AnyCodingKey("dynamic"))
    }
    try c.encode(actorder?.rawValue, forKey: AnyCodingKey("actorder"))
    try c.encode(scaleDType?.rawValue, forKey: AnyCodingKey("scale_dtype"))
    try c.encode(symmetric ? nil : zpDType.rawValue, forKey: AnyCodingKey("zp_dtype"))
    try c.encode(observer, forKey: AnyCodingKey("observer"))
    try c.encode(observerKwargs, forKey: AnyCodingKey("observer_kwargs"))
  }
}

/// The fields of one serialized `QuantizationArgs`, each read with compressed-tensors'
/// leniencies. An explicit `null` reads as absent where the reference's field is
/// optional, and is refused where it is not (``nonNullable``), as pydantic refuses it.
private struct ArgsFields {
  let container: KeyedDecodingContainer<AnyCodingKey>

  /// The fields whose `None` compressed-tensors 0.14 rejects (`num_bits: int = 8` and the
  /// like); `null` in the others (`group_size`, `strategy`, `observer`…) is the default.
  static let nonNullable: Set<String> = ["num_bits", "type", "symmetric", "dynamic", "observer_kwargs"]

  init(_ container: KeyedDecodingContainer<AnyCodingKey>) { self.container = container }

  /// Whether `name` is present and not null.
  ///
  /// - Throws: ``QuantizationArgsError/invalidValue(field:value:expected:)`` for a null
  ///   in one of ``nonNullable``.
  func given(_ name: String) throws -> Bool {
    let key = AnyCodingKey(name)
    guard container.contains(key) else { return false }
    guard try container.decodeNil(forKey: key) else { return true }
    if Self.nonNullable.contains(name) {
      throw QuantizationArgsError.invalidValue(field: name, value: "null", expected: "a value, or no \(name) field for its default")
    }
    return false
  }

  func decoded<T: Decodable>(_ type: T.Type, _ name: String) -> T? {
    try? container.decode(type, forKey: AnyCodingKey(name))
  }

  func string(_ name: String) throws -> String? {
    guard try given(name) else { return nil }
    guard let s = decoded(String.self, name) else {
      throw QuantizationArgsError.invalidValue(field: name, value: "(not a string)", expected: "a string")
    }
    return s
  }

  func int(_ name: String) throws -> Int? {
    guard try given(name) else { return nil }
    guard let v = decoded(Int.self, name) else {
      throw QuantizationArgsError.invalidValue(field: name, value: "(not an integer)", expected: "an integer")
    }
    return v
  }

  func dtype(_ name: String) throws -> TorchDType? {
    guard let s = try string(name) else { return nil }
    guard let d = TorchDType(name: s) else {
      throw QuantizationArgsError.invalidValue(
        field: name, value: "'\(s)'", expected: TorchDType.allCases.map(\.rawValue).joined(separator: ", "))
    }
    return d
  }

  /// `type`: `int` (the default) or `float`, any case.
  func quantizationType() throws -> QuantizationType {
    guard let t = try string("type") else { return .int }
    guard let parsed = QuantizationType(rawValue: t.lowercased()) else {
      throw QuantizationArgsError.invalidValue(field: "type", value: "'\(t)'", expected: "int or float")
    }
    return parsed
  }

  /// `strategy`, any case; `nil` when absent (inferred later, as the reference does).
  func strategy() throws -> QuantizationStrategy? {
    guard let s = try string("strategy") else { return nil }
    guard let parsed = QuantizationStrategy(rawValue: s.lowercased()) else {
      throw QuantizationArgsError.invalidValue(
        field: "strategy", value: "'\(s)'", expected: QuantizationStrategy.allCases.map(\.rawValue).joined(separator: ", "))
    }
    return parsed
  }

  /// `block_structure`: a list `[rows, cols]` or the text `"RxC"`.
  func blockStructure() throws -> [Int]? {
    guard try given("block_structure") else { return nil }
    if let list = decoded([Int].self, "block_structure") { return list }
    guard let text = decoded(String.self, "block_structure") else {
      throw QuantizationArgsError.invalidBlockStructure("(not a list)")
    }
    let parts = text.split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
    guard parts.count == 2, let rows = parts[0], let cols = parts[1] else {
      throw QuantizationArgsError.invalidBlockStructure("'\(text)'")
    }
    return [rows, cols]
  }

  /// `dynamic`: a bool or `"local"` (any case); off when absent.
  func dynamic() throws -> DynamicMode {
    guard try given("dynamic") else { return .off }
    if let b = decoded(Bool.self, "dynamic") { return b ? .on : .off }
    if let s = decoded(String.self, "dynamic"), s.lowercased() == "local" { return .local }
    throw QuantizationArgsError.invalidValue(field: "dynamic", value: "(given)", expected: "true, false or \"local\"")
  }

  /// `actorder`: `true` (group), `false` (none) or an ordering's name.
  func actorder() throws -> ActivationOrdering? {
    guard try given("actorder") else { return nil }
    if let b = decoded(Bool.self, "actorder") { return b ? .group : nil }
    if let s = decoded(String.self, "actorder"), let a = ActivationOrdering(name: s) { return a }
    throw QuantizationArgsError.invalidValue(
      field: "actorder", value: "(given)", expected: "group, weight, dynamic, static, true or false")
  }

  /// `observer_kwargs`: a mapping of names to numbers, booleans or strings.
  func observerKwargs() throws -> [String: ObserverKwarg] {
    guard try given("observer_kwargs") else { return [:] }
    guard let kwargs = decoded([String: ObserverKwarg].self, "observer_kwargs") else {
      throw QuantizationArgsError.invalidValue(
        field: "observer_kwargs", value: "(given)", expected: "a mapping of names to numbers, booleans or strings")
    }
    return kwargs
  }

  /// `symmetric`: a bool; true when absent.
  func symmetric() throws -> Bool {
    guard try given("symmetric") else { return true }
    guard let b = decoded(Bool.self, "symmetric") else {
      throw QuantizationArgsError.invalidValue(field: "symmetric", value: "(given)", expected: "true or false")
    }
    return b
  }
}
