/// An SVG heatmap: labelled rows (optionally grouped) × named columns, each cell
/// coloured by its value on a ramp over the finite values of the whole map.
///
/// Structure, for pages that sort or filter the map with a script:
///
/// ```
/// <svg class="heatmap" data-row-height="H">
///   <g class="hm-head">column labels</g>
///   <g class="hm-body">
///     <g class="hm-grp" data-group="G" transform="translate(0,Y)">…</g>        one per group
///     <g class="hm-row" data-group="G" ROW ATTRIBUTES transform="translate(0,Y)">
///       <text>row label</text>
///       <g class="hm-cell" CELL ATTRIBUTES><rect/><text/></g>                 one per column
/// ```
///
/// Every row and group header is `H` pixels high and placed by its `transform`, so a
/// script may reorder, hide and re-place them. A cell whose value is `nil` or NaN is
/// grey; a marked cell gets the class `win` (a thick outline). Attribute names and
/// values are escaped.
///
/// For example:
/// ```swift
/// let map = Heatmap(columns: ["a", "b"], rows: [
///   .init(label: "m", group: "layer.0", cells: [.init(value: 1, text: "1"), .init(value: 2, text: "2", marked: true)])
/// ])
/// let svg = map.svg()
/// ```
public struct Heatmap: Sendable {
  /// One cell: its value (for the colour), its text and extra attributes.
  public struct Cell: Sendable {
    /// The value that picks the colour (`nil` or NaN: grey).
    public var value: Double?
    /// The text drawn in the cell.
    public var text: String
    /// Whether the cell is outlined (a row's winner, say).
    public var marked: Bool
    /// Extra attributes of the cell's `<g>`, in order (names and values are escaped).
    public var attributes: [(String, String)]

    /// A cell showing `text`, coloured by `value`.
    public init(value: Double?, text: String, marked: Bool = false, attributes: [(String, String)] = []) {
      self.value = value
      self.text = text
      self.marked = marked
      self.attributes = attributes
    }
  }

  /// One row: label, group (rows of a group must be adjacent), an optional link for the
  /// label (a fragment such as `#detail-3`, so the page fetches nothing) and cells, one per
  /// column.
  public struct Row: Sendable {
    /// The row's label, left of its cells.
    public var label: String
    /// The group the row belongs to; a header is drawn where the group changes.
    public var group: String
    /// A fragment the label links to (`#…`), or `nil`.
    public var link: String?
    /// Extra attributes of the row's `<g>`, in order (names and values are escaped).
    public var attributes: [(String, String)]
    /// One cell per column (extra cells are ignored).
    public var cells: [Cell]

    /// A row of `cells` labelled `label` in `group`.
    public init(label: String, group: String = "", link: String? = nil, attributes: [(String, String)] = [], cells: [Cell]) {
      self.label = label
      self.group = group
      self.link = link
      self.attributes = attributes
      self.cells = cells
    }
  }

  /// The column names, drawn above the cells.
  public var columns: [String]
  /// The rows in drawing order (a group's rows adjacent).
  public var rows: [Row]
  /// Width of the label column.
  public var labelWidth: Double
  /// Width of one cell.
  public var cellWidth: Double
  /// Height of a row and of a group header.
  public var rowHeight: Double
  /// Height of the column-name header.
  public var headerHeight: Double

  /// A heatmap of `rows` × `columns` with the given geometry.
  public init(
    columns: [String], rows: [Row], labelWidth: Double = 300, cellWidth: Double = 110, rowHeight: Double = 18,
    headerHeight: Double = 24
  ) {
    self.columns = columns
    self.rows = rows
    self.labelWidth = labelWidth
    self.cellWidth = cellWidth
    self.rowHeight = rowHeight
    self.headerHeight = headerHeight
  }

  /// The value interval that the colour ramp spans: the finite cell values' range.
  public var valueRange: ClosedRange<Double>? {
    var lo = Double.infinity
    var hi = -Double.infinity
    for r in rows {
      for cell in r.cells {
        if let v = cell.value, v.isFinite {
          lo = min(lo, v)
          hi = max(hi, v)
        }
      }
    }
    return lo <= hi ? lo...hi : nil
  }

  /// The position of `value` on the ramp, 0...1 (0.5 for a map of one value; NaN for a
  /// missing or non-finite value).
  public func rampPosition(_ value: Double?) -> Double {
    guard let value, value.isFinite, let r = valueRange else { return .nan }
    return r.lowerBound == r.upperBound ? 0.5 : (value - r.lowerBound) / (r.upperBound - r.lowerBound)
  }

  /// The number of group headers (one per run of equal adjacent groups; none when the
  /// only group is empty).
  var groupStarts: Int {
    var n = 0
    var last: String?
    for r in rows where r.group != last {
      last = r.group
      if !r.group.isEmpty { n += 1 }
    }
    return n
  }

  /// The map as one `<svg>` element.
  public func svg() -> String {
    let c = SVGText.coordinate
    let lines = rows.count + groupStarts
    let width = labelWidth + cellWidth * Double(columns.count) + 2
    let height = headerHeight + rowHeight * Double(max(lines, 1)) + 2
    var out = "<svg class=\"heatmap\" viewBox=\"0 0 \(c(width)) \(c(height))\" width=\"\(c(width))\" height=\"\(c(height))\""
    out += " data-row-height=\"\(c(rowHeight))\" data-header-height=\"\(c(headerHeight))\" role=\"img\"><title>heatmap</title>"
    out += "<g class=\"hm-head\">"
    for (i, name) in columns.enumerated() {
      let x = labelWidth + cellWidth * (Double(i) + 0.5)
      out += "<text x=\"\(c(x))\" y=\"\(c(headerHeight - 8))\" text-anchor=\"middle\" data-column=\"\(i)\">"
        + "\(SVGText.escaped(Self.clipped(name, 18)))<title>\(SVGText.escaped(name))</title></text>"
    }
    out += "</g><g class=\"hm-body\">"
    if rows.isEmpty {
      out += "<text class=\"nodata\" x=\"4\" y=\"\(c(headerHeight + rowHeight - 5))\">no data</text>"
    }
    var y = headerHeight
    var lastGroup: String?
    let textY = c(rowHeight - 5)
    for r in rows {
      if r.group != lastGroup {
        lastGroup = r.group
        if !r.group.isEmpty {
          out += "<g class=\"hm-grp\" data-group=\"\(SVGText.escaped(r.group))\" transform=\"translate(0,\(c(y)))\">"
            + "<text x=\"2\" y=\"\(textY)\">\(SVGText.escaped(r.group))</text></g>"
          y += rowHeight
        }
      }
      out += "<g class=\"hm-row\" data-group=\"\(SVGText.escaped(r.group))\"" + Self.attributes(r.attributes)
      let label = "<text x=\"14\" y=\"\(textY)\">\(SVGText.escaped(r.label))</text>"
      out += " transform=\"translate(0,\(c(y)))\">"
      out += r.link.map { "<a href=\"\(SVGText.escaped($0))\">\(label)</a>" } ?? label
      for (i, cell) in r.cells.prefix(columns.count).enumerated() {
        let t = rampPosition(cell.value)
        let x0 = labelWidth + cellWidth * Double(i)
        out += "<g class=\"hm-cell\(cell.marked ? " win" : "")\"" + Self.attributes(cell.attributes) + ">"
        out += "<rect x=\"\(c(x0 + 1))\" y=\"1\" width=\"\(c(cellWidth - 2))\" height=\"\(c(rowHeight - 2))\" fill=\"\(ChartPalette.ramp(t))\"/>"
        out += "<text x=\"\(c(x0 + cellWidth / 2))\" y=\"\(textY)\" text-anchor=\"middle\"\(ChartPalette.isDark(t) ? " class=\"on-dark\"" : "")>"
        out += SVGText.escaped(cell.text) + "</text></g>"
      }
      out += "</g>"
      y += rowHeight
    }
    return out + "</g></svg>"
  }

  static func attributes(_ pairs: [(String, String)]) -> String {
    pairs.map { " \(SVGText.escaped($0.0))=\"\(SVGText.escaped($0.1))\"" }.joined()
  }

  static func clipped(_ s: String, _ n: Int) -> String { s.count <= n ? s : String(s.prefix(n - 1)) + "…" }
}
