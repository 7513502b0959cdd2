import CalibCore
import CalibFormats

/// A JSON value with full control over number output: floats print as the shortest text
/// that reads back to the same float32, and non-finite numbers as the strings "nan",
/// "inf", "-inf".
indirect enum JSONValue: Sendable {
  case null
  case bool(Bool)
  case int(Int)
  case float(Float)
  case double(Double)
  case string(String)
  case array([JSONValue])
  case object([(String, JSONValue)])
  /// JSON text written as it is (from an `Encodable`'s own encoding).
  case raw(String)

  func render(indent: Int? = nil, level: Int = 0) -> String {
    let nl = indent == nil ? "" : "\n"
    let pad = { (n: Int) in indent.map { String(repeating: " ", count: $0 * n) } ?? "" }
    switch self {
    case .null: return "null"
    case .bool(let b): return b ? "true" : "false"
    case .int(let i): return String(i)
    case .float(let f): return Self.number(f.isFinite ? f.description : nil, f)
    case .double(let d): return d.isFinite ? d.description : Self.number(nil, Float(d))
    case .string(let s): return JSONString.quoted(s)
    case .raw(let text): return text
    case .array(let items):
      if items.isEmpty { return "[]" }
      if items.allSatisfy(\.isScalar) { return "[" + items.map { $0.render() }.joined(separator: ", ") + "]" }
      return "[" + nl + items.map { pad(level + 1) + $0.render(indent: indent, level: level + 1) }.joined(separator: "," + nl) + nl + pad(level) + "]"
    case .object(let pairs):
      if pairs.isEmpty { return "{}" }
      let sep = indent == nil ? ":" : ": "
      return "{" + nl + pairs.map { pad(level + 1) + JSONString.quoted($0.0) + sep + $0.1.render(indent: indent, level: level + 1) }
        .joined(separator: "," + nl) + nl + pad(level) + "}"
    }
  }

  private var isScalar: Bool {
    switch self {
    case .array, .object: false
    default: true
    }
  }

  private static func number(_ finite: String?, _ f: Float) -> String {
    if let finite { return finite }
    return f.isNaN ? "\"nan\"" : (f > 0 ? "\"inf\"" : "\"-inf\"")
  }

  /// `{"shape": [...], "dtype": "...", "values": [...]}` for a tensor, or null.
  static func tensor(_ t: Tensor?, dtype: String) -> JSONValue {
    guard let t else { return .null }
    return .object([
      ("shape", .array(t.shape.map { .int($0) })), ("dtype", .string(dtype)),
      ("values", .array(t.values.map { .float($0) })),
    ])
  }
}
