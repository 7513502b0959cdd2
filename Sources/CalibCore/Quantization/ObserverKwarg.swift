/// One value of `observer_kwargs`: JSON and YAML give numbers, booleans or strings.
public enum ObserverKwarg: Sendable, Hashable, Codable, CustomStringConvertible {
  case number(Double)
  case bool(Bool)
  case string(String)

  public init(from decoder: any Decoder) throws {
    let c = try decoder.singleValueContainer()
    if let b = try? c.decode(Bool.self) {
      self = .bool(b)
    } else if let d = try? c.decode(Double.self) {
      self = .number(d)
    } else {
      self = .string(try c.decode(String.self))
    }
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    switch self {
    case .number(let d):
      if d == d.rounded(), d.magnitude < 1e15 { try c.encode(Int(d)) } else { try c.encode(d) }
    case .bool(let b): try c.encode(b)
    case .string(let s): try c.encode(s)
    }
  }

  /// The numeric value, when it is a number.
  public var number: Double? {
    if case .number(let d) = self { return d }
    return nil
  }

  /// Parses a command-line value: `true`/`false`, a number, otherwise a string.
  public init(parsing text: String) {
    switch text.lowercased() {
    case "true": self = .bool(true)
    case "false": self = .bool(false)
    default: self = Double(text).map { .number($0) } ?? .string(text)
    }
  }

  public var description: String {
    switch self {
    case .number(let d): d == d.rounded() && d.magnitude < 1e15 ? String(Int(d)) : String(d)
    case .bool(let b): String(b)
    case .string(let s): s
    }
  }
}
