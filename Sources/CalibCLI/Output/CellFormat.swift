import Foundation

/// How numbers are written in table and CSV cells (`-` for an absent value; non-finite
/// values as `nan`, `inf`, `-inf`, the spelling JSON output uses).
enum CellFormat {
  /// A number with 6 significant digits.
  static func number(_ x: Double?) -> String {
    guard let x else { return "-" }
    return nonFinite(x) ?? String(format: "%.6g", x)
  }

  /// Decibels with two decimals.
  static func decibels(_ x: Double?) -> String {
    guard let x else { return "-" }
    return nonFinite(x) ?? String(format: "%.2f", x)
  }

  private static func nonFinite(_ x: Double) -> String? {
    if x.isNaN { return "nan" }
    if x.isInfinite { return x > 0 ? "inf" : "-inf" }
    return nil
  }
}
