/// The rule every new run's name follows: non-empty, one line (no control characters or
/// line separators) and at most ``maxLength`` Unicode scalars, so that tables, CSV and
/// one-line errors that show it stay one line each.
///
/// For example:
/// ```swift
/// try RunName.validate("w8a8-mse", option: "--name")  // passes
/// try RunName.validate("a\nb", option: "--name")      // throws StoreError.invalidRunName
/// ```
public enum RunName {
  /// Longest name accepted, in Unicode scalars.
  public static let maxLength = 200

  /// Checks `name`, naming `option` (the flag that gave it) in the error.
  ///
  /// - Throws: ``StoreError/invalidRunName(_:option:reason:)``.
  public static func validate(_ name: String, option: String) throws {
    if name.isEmpty {
      throw StoreError.invalidRunName(name, option: option, reason: "it is empty")
    }
    if let bad = name.unicodeScalars.first(where: isForbidden) {
      let code = "U+" + String(bad.value, radix: 16, uppercase: true)
      throw StoreError.invalidRunName(name, option: option, reason: "it holds the control character \(code)")
    }
    let length = name.unicodeScalars.count
    if length > maxLength {
      throw StoreError.invalidRunName(name, option: option, reason: "it is \(length) characters long (at most \(maxLength))")
    }
  }

  /// Control characters (Cc) and the line and paragraph separators, which break a line.
  private static func isForbidden(_ s: Unicode.Scalar) -> Bool {
    switch s.properties.generalCategory {
    case .control, .lineSeparator, .paragraphSeparator: true
    default: false
    }
  }

  /// `name` as it can be shown on one line: escaped and cut to 60 characters.
  static func displayed(_ name: String) -> String {
    let cut = name.unicodeScalars.count > 60 ? String(String.UnicodeScalarView(name.unicodeScalars.prefix(60))) + "…" : name
    var out = "\""
    for s in cut.unicodeScalars {
      if isForbidden(s) || s == "\"" || s == "\\" {
        out += s == "\"" ? "\\\"" : s == "\\" ? "\\\\" : "\\u{" + String(s.value, radix: 16) + "}"
      } else {
        out.unicodeScalars.append(s)
      }
    }
    return out + "\""
  }
}
