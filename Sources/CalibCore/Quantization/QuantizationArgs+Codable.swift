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
    let c = try decoder.container(keyedBy: AnyCodingKey.self)
    for key in c.allKeys where !Self.fieldNames.contains(key.stringValue) {
      throw QuantizationArgsError.unknownField(key.stringValue)
    }
    func string(_ k: String) throws -> String? {
      let key = AnyCodingKey(k)
      guard c.contains(key), try !c.decodeNil(forKey: key) else { return nil }
      guard let s = try? c.decode(String.self, forKey: key) else {
        throw QuantizationArgsError.invalidValue(field: k, value: "(not a string)", expected: "a string")
      }
      return s
    }
    func int(_ k: String) throws -> Int? {
      let key = AnyCodingKey(k)
      guard c.contains(key), try !c.decodeNil(forKey: key) else { return nil }
      guard let v = try? c.decode(Int.self, forKey: key) else {
        throw QuantizationArgsError.invalidValue(field: k, value: "(not an integer)", expected: "an integer")
      }
      return v
    }
    func bool(_ k: String) -> Bool? {
      try? c.decode(Bool.self, forKey: AnyCodingKey(k))
    }
    func dtype(_ k: String) throws -> TorchDType? {
      guard let s = try string(k) else { return nil }
      guard let d = TorchDType(name: s) else {
        throw QuantizationArgsError.invalidValue(
          field: k, value: "'\(s)'",
          expected: TorchDType.allCases.map(\.rawValue).joined(separator: ", "))
      }
      return d
    }

    let type: QuantizationType
    if let t = try string("type") {
      guard let parsed = QuantizationType(rawValue: t.lowercased()) else {
        throw QuantizationArgsError.invalidValue(field: "type", value: "'\(t)'", expected: "int or float")
      }
      type = parsed
    } else {
      type = .int
    }
    var strategy: QuantizationStrategy?
    if let s = try string("strategy") {
      guard let parsed = QuantizationStrategy(rawValue: s.lowercased()) else {
        throw QuantizationArgsError.invalidValue(
          field: "strategy", value: "'\(s)'",
          expected: QuantizationStrategy.allCases.map(\.rawValue).joined(separator: ", "))
      }
      strategy = parsed
    }
    var block: [Int]?
    let blockKey = AnyCodingKey("block_structure")
    if c.contains(blockKey), try !c.decodeNil(forKey: blockKey) {
      if let list = try? c.decode([Int].self, forKey: blockKey) {
        block = list
      } else if let text = try? c.decode(String.self, forKey: blockKey) {
        let parts = text.split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 2, let r = parts[0], let cols = parts[1] else {
          throw QuantizationArgsError.invalidBlockStructure("'\(text)'")
        }
        block = [r, cols]
      } else {
        throw QuantizationArgsError.invalidBlockStructure("(not a list)")
      }
    }
    var dynamic = DynamicMode.off
    let dynamicKey = AnyCodingKey("dynamic")
    if c.contains(dynamicKey), try !c.decodeNil(forKey: dynamicKey) {
      if let b = try? c.decode(Bool.self, forKey: dynamicKey) {
        dynamic = b ? .on : .off
      } else if let s = try? c.decode(String.self, forKey: dynamicKey), s.lowercased() == "local" {
        dynamic = .local
      } else {
        throw QuantizationArgsError.invalidValue(field: "dynamic", value: "(given)", expected: "true, false or \"local\"")
      }
    }
    var actorder: ActivationOrdering?
    let actorderKey = AnyCodingKey("actorder")
    if c.contains(actorderKey), try !c.decodeNil(forKey: actorderKey) {
      if let b = try? c.decode(Bool.self, forKey: actorderKey) {
        actorder = b ? .group : nil
      } else if let s = try? c.decode(String.self, forKey: actorderKey), let a = ActivationOrdering(name: s) {
        actorder = a
      } else {
        throw QuantizationArgsError.invalidValue(field: "actorder", value: "(given)", expected: "group, weight, dynamic, static, true or false")
      }
    }
    var kwargs: [String: ObserverKwarg] = [:]
    let kwargsKey = AnyCodingKey("observer_kwargs")
    if c.contains(kwargsKey), try !c.decodeNil(forKey: kwargsKey) {
      guard let k = try? c.decode([String: ObserverKwarg].self, forKey: kwargsKey) else {
        throw QuantizationArgsError.invalidValue(field: "observer_kwargs", value: "(given)", expected: "a mapping of names to numbers, booleans or strings")
      }
      kwargs = k
    }
    let symmetricKey = AnyCodingKey("symmetric")
    if c.contains(symmetricKey), bool("symmetric") == nil, try !c.decodeNil(forKey: symmetricKey) {
      throw QuantizationArgsError.invalidValue(field: "symmetric", value: "(given)", expected: "true or false")
    }
    try self.init(
      numBits: try int("num_bits") ?? 8, type: type, symmetric: bool("symmetric") ?? true,
      groupSize: try int("group_size"), strategy: strategy, blockStructure: block,
      dynamic: dynamic, actorder: actorder, scaleDType: try dtype("scale_dtype"),
      zpDType: try dtype("zp_dtype"), observer: try string("observer"), observerKwargs: kwargs)
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
