/// Text that must stay on one line of a terminal: a table cell, an error or a warning that
/// quotes a path or a module name (a safetensors key may hold a newline).
enum OneLine {
  /// `s` with its control characters and line or paragraph separators escaped: `\n`, `\r`
  /// and `\t` as such, the others as `\u{hex}` (U+2028 as `\u{2028}`). Everything else,
  /// quotes and backslashes included, is kept as it is, so the common case reads unchanged.
  static func escaped(_ s: String) -> String {
    guard s.unicodeScalars.contains(where: isBreaking) else { return s }
    var out = ""
    for u in s.unicodeScalars {
      switch u {
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where isBreaking(u): out += "\\u{\(String(u.value, radix: 16))}"
      default: out.unicodeScalars.append(u)
      }
    }
    return out
  }

  private static func isBreaking(_ u: Unicode.Scalar) -> Bool {
    switch u.properties.generalCategory {
    case .control, .lineSeparator, .paragraphSeparator: true
    default: false
    }
  }
}
