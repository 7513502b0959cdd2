/// Rows of strings rendered as an aligned table or CSV.
struct TextTable {
  var headers: [String]
  var rows: [[String]] = []

  /// Columns padded to their widest cell, two spaces apart; control characters and line
  /// separators in a cell (a module name with a newline, say) are shown escaped (`\n`,
  /// `\u{2028}`), so that every row stays one line.
  func renderTable() -> String {
    let rows = self.rows.map { $0.map(OneLine.escaped) }
    var widths = headers.map(\.count)
    for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
    func line(_ cells: [String]) -> String {
      cells.enumerated().map { i, c in
        i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0)
      }.joined(separator: "  ")
    }
    return ([line(headers)] + rows.map(line)).map { $0 + "\n" }.joined()
  }

  /// RFC 4180 CSV: fields with commas, quotes or line breaks (LF or CR) are quoted,
  /// quotes doubled.
  func renderCSV() -> String {
    func field(_ s: String) -> String {
      s.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
        ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
    return ([headers] + rows).map { $0.map(field).joined(separator: ",") + "\n" }.joined()
  }

  func render(_ format: OutputFormat) -> String {
    format == .csv ? renderCSV() : renderTable()
  }
}
