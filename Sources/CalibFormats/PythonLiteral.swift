/// A Python literal as found in a `.npy` header: `{'descr': '<f4', 'fortran_order': False,
/// 'shape': (2, 3), }`.
///
/// Only what numpy writes is understood: strings, integers, booleans, `None`, tuples, lists
/// and dicts with string keys. Nesting is limited so hostile headers cannot exhaust the stack.
enum PythonLiteral {
  case string(String)
  case integer(Int)
  case boolean(Bool)
  case none
  case tuple([PythonLiteral])
  case list([PythonLiteral])
  case dict([(key: String, value: PythonLiteral)])

  /// The value for `key` if this is a dict containing it (the last one wins, as in Python).
  subscript(key: String) -> PythonLiteral? {
    guard case .dict(let pairs) = self else { return nil }
    return pairs.last { $0.key == key }?.value
  }

  /// Parses exactly one literal from `bytes` (surrounding whitespace allowed).
  ///
  /// Throws a message describing the first syntax error.
  static func parse(_ bytes: [UInt8]) throws(LiteralSyntaxError) -> PythonLiteral {
    var parser = Parser(bytes: bytes)
    let value = try parser.value(depth: 0)
    parser.skipSpace()
    guard parser.position == bytes.count else {
      throw LiteralSyntaxError(message: "unexpected text after the literal", at: parser.position)
    }
    return value
  }

  /// A syntax error and its byte offset.
  struct LiteralSyntaxError: Error, Equatable {
    var message: String
    var at: Int
  }

  /// A recursive-descent parser over the header bytes.
  private struct Parser {
    let bytes: [UInt8]
    var position = 0
    static let maximumDepth = 16

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func skipSpace() {
      while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) {
        position += 1
      }
    }

    func fail(_ message: String) -> LiteralSyntaxError {
      LiteralSyntaxError(message: message, at: position)
    }

    mutating func value(depth: Int) throws(LiteralSyntaxError) -> PythonLiteral {
      guard depth < Self.maximumDepth else { throw fail("nesting is too deep") }
      skipSpace()
      guard position < bytes.count else { throw fail("unexpected end of header") }
      switch bytes[position] {
      case UInt8(ascii: "'"), UInt8(ascii: "\""):
        return .string(try string())
      case UInt8(ascii: "("):
        return .tuple(try sequence(closing: ")", depth: depth))
      case UInt8(ascii: "["):
        return .list(try sequence(closing: "]", depth: depth))
      case UInt8(ascii: "{"):
        return try dict(depth: depth)
      case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        return .integer(try integer())
      default:
        if consume("True") { return .boolean(true) }
        if consume("False") { return .boolean(false) }
        if consume("None") { return PythonLiteral.none }
        throw fail("unexpected character")
      }
    }

    /// Consumes `word` if it is next and not followed by an identifier character.
    mutating func consume(_ word: String) -> Bool {
      let utf8 = Array(word.utf8)
      let end = position + utf8.count
      guard end <= bytes.count, Array(bytes[position..<end]) == utf8 else { return false }
      if end < bytes.count {
        let next = bytes[end]
        let isIdentifier =
          next == UInt8(ascii: "_") || (next >= 0x30 && next <= 0x39)
          || ((next | 0x20) >= 0x61 && (next | 0x20) <= 0x7A)
        if isIdentifier { return false }
      }
      position = end
      return true
    }

    mutating func string() throws(LiteralSyntaxError) -> String {
      let quote = bytes[position]
      position += 1
      var content: [UInt8] = []
      while position < bytes.count {
        let byte = bytes[position]
        position += 1
        if byte == quote { return String(decoding: content, as: UTF8.self) }
        if byte == 0x0A { break }
        if byte == UInt8(ascii: "\\") {
          guard position < bytes.count else { break }
          let escaped = bytes[position]
          position += 1
          switch escaped {
          case UInt8(ascii: "n"): content.append(0x0A)
          case UInt8(ascii: "t"): content.append(0x09)
          case UInt8(ascii: "r"): content.append(0x0D)
          case UInt8(ascii: "0"): content.append(0x00)
          default: content.append(escaped)
          }
        } else {
          content.append(byte)
        }
      }
      throw fail("unterminated string")
    }

    mutating func integer() throws(LiteralSyntaxError) -> Int {
      var negative = false
      if bytes[position] == UInt8(ascii: "-") || bytes[position] == UInt8(ascii: "+") {
        negative = bytes[position] == UInt8(ascii: "-")
        position += 1
      }
      var magnitude = 0
      var digits = 0
      while position < bytes.count, bytes[position] >= 0x30, bytes[position] <= 0x39 {
        let digit = Int(bytes[position] - 0x30)
        let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
        let (sum, o2) = times10.addingReportingOverflow(digit)
        guard !o1, !o2 else { throw fail("integer is too large") }
        magnitude = sum
        digits += 1
        position += 1
      }
      guard digits > 0 else { throw fail("expected digits") }
      // Python 2 wrote long integers with an `L` suffix, e.g. `(3L,)`.
      if position < bytes.count, bytes[position] == UInt8(ascii: "L") { position += 1 }
      return negative ? -magnitude : magnitude
    }

    mutating func sequence(closing: Unicode.Scalar, depth: Int) throws(LiteralSyntaxError)
      -> [PythonLiteral]
    {
      position += 1
      var items: [PythonLiteral] = []
      while true {
        skipSpace()
        if position < bytes.count, bytes[position] == UInt8(ascii: closing) {
          position += 1
          return items
        }
        items.append(try value(depth: depth + 1))
        skipSpace()
        guard position < bytes.count else { throw fail("unexpected end of header") }
        if bytes[position] == UInt8(ascii: ",") {
          position += 1
        } else if bytes[position] != UInt8(ascii: closing) {
          throw fail("expected ',' or '\(closing)'")
        }
      }
    }

    mutating func dict(depth: Int) throws(LiteralSyntaxError) -> PythonLiteral {
      position += 1
      var pairs: [(key: String, value: PythonLiteral)] = []
      while true {
        skipSpace()
        guard position < bytes.count else { throw fail("unexpected end of header") }
        if bytes[position] == UInt8(ascii: "}") {
          position += 1
          return .dict(pairs)
        }
        guard bytes[position] == UInt8(ascii: "'") || bytes[position] == UInt8(ascii: "\"") else {
          throw fail("dict keys must be strings")
        }
        let key = try string()
        skipSpace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else {
          throw fail("expected ':'")
        }
        position += 1
        pairs.append((key, try value(depth: depth + 1)))
        skipSpace()
        guard position < bytes.count else { throw fail("unexpected end of header") }
        if bytes[position] == UInt8(ascii: ",") {
          position += 1
        } else if bytes[position] != UInt8(ascii: "}") {
          throw fail("expected ',' or '}'")
        }
      }
    }
  }
}
