/// JSON string literals, written by hand where a whole encoder would be too much (the
/// safetensors header, the CLI's ordered JSON output).
public enum JSONString {
  /// The JSON string literal for `text`: quotes, backslashes and control characters
  /// escaped, everything else as is (JSON text is UTF-8).
  ///
  /// For example, a quote becomes `\"` and a newline `\n`.
  public static func quoted(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": result += "\\\""
      case "\\": result += "\\\\"
      case "\n": result += "\\n"
      case "\r": result += "\\r"
      case "\t": result += "\\t"
      case _ where scalar.value < 0x20:
        let hex = String(scalar.value, radix: 16)
        result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: result.unicodeScalars.append(scalar)
      }
    }
    return result + "\""
  }
}
