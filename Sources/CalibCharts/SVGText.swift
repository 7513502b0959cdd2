import Foundation

/// Text helpers shared by the chart builders: escaping and compact, deterministic numbers.
public enum SVGText {
  /// `text` with `&`, `<`, `>`, `"` and `'` replaced by entities, safe inside element
  /// content and inside double- or single-quoted attribute values.
  ///
  /// For example:
  /// ```swift
  /// SVGText.escaped("a<b & \"c\"")  // "a&lt;b &amp; &quot;c&quot;"
  /// ```
  public static func escaped(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for c in text.unicodeScalars {
      switch c {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&#39;"
      default: out.unicodeScalars.append(c)
      }
    }
    return out
  }

  /// A coordinate rounded to one decimal, without a trailing `.0` (`12`, `-3.5`).
  ///
  /// Chart coordinates are in CSS pixels, so a tenth is below what a screen shows and keeps
  /// the output small. The text depends only on the value, so output is byte-stable.
  /// Non-finite values print as `0`: builders skip them before this point, and an SVG
  /// parser would reject `nan`.
  public static func coordinate(_ x: Double) -> String {
    guard x.isFinite else { return "0" }
    let tenths = (x * 10).rounded()
    guard abs(tenths) < 1e15 else { return "0" }
    let n = Int(tenths)
    let whole = abs(n) / 10
    let fraction = abs(n) % 10
    let sign = n < 0 ? "-" : ""
    return fraction == 0 ? sign + String(whole) : sign + String(whole) + "." + String(fraction)
  }

  /// A short label for a tick or a value: up to `digits` significant digits, an exponent
  /// for very large or small magnitudes, and `nan`, `inf`, `-inf` for non-finite values.
  ///
  /// For example:
  /// ```swift
  /// SVGText.label(0.30000000000000004)  // "0.3"
  /// SVGText.label(1.5e-7)               // "1.5e-07"
  /// ```
  public static func label(_ x: Double, digits: Int = 4) -> String {
    if x.isNaN { return "nan" }
    if x.isInfinite { return x > 0 ? "inf" : "-inf" }
    if x == 0 { return "0" }
    return String(format: "%.\(digits)g", x)
  }
}
