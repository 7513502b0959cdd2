/// An SVG line chart of one or more series over a shared linear x and y scale.
///
/// A point whose x or y is NaN or ±∞ breaks its line (the next finite point starts a
/// new segment). A segment of one point is drawn as a dot, so single-value data shows.
///
/// For example:
/// ```swift
/// let svg = LineChart(
///   title: "scale per step",
///   series: [.init(label: "w8a8", points: [(0, 0.5), (1, 0.6)])]
/// ).svg()
/// ```
public struct LineChart: Sendable {
  /// A polyline in the colour of `colorIndex`, optionally dashed.
  public struct Series: Sendable {
    /// The name shown when hovering over the line.
    public var label: String
    /// The points, joined in order.
    public var points: [(x: Double, y: Double)]
    /// The ``ChartPalette/color(_:)`` index.
    public var colorIndex: Int
    /// Whether the line is dashed.
    public var dashed: Bool

    /// A series of `points` named `label`.
    public init(label: String, points: [(x: Double, y: Double)], colorIndex: Int = 0, dashed: Bool = false) {
      self.label = label
      self.points = points
      self.colorIndex = colorIndex
      self.dashed = dashed
    }
  }

  /// The chart's title, drawn at its top left.
  public var title: String
  /// The lines to draw.
  public var series: [Series]
  /// The x axis's name, drawn at the plot's top right.
  public var xTitle: String?
  /// The chart's size and margins.
  public var frame: ChartFrame
  /// Whether the x ticks are whole numbers only (steps, channel indices).
  public var integerX: Bool

  /// A line chart of `series`.
  public init(title: String, series: [Series], xTitle: String? = nil, integerX: Bool = false, frame: ChartFrame = ChartFrame()) {
    self.title = title
    self.series = series
    self.xTitle = xTitle
    self.integerX = integerX
    self.frame = frame
  }

  /// The chart as one `<svg>` element ("no data" when no series has a finite point).
  public func svg() -> String {
    var out = frame.open(class: "chart line", title: title)
    let finite = series.flatMap { $0.points.filter { $0.x.isFinite && $0.y.isFinite } }
    guard !finite.isEmpty else { return out + frame.noData() + "</svg>" }
    let x = LinearScale(fitting: finite.map(\.x), range: frame.plotX)
    let y = LinearScale(fitting: finite.map(\.y), range: frame.plotY, flipped: true).niced(count: 4)
    let c = SVGText.coordinate
    for s in series {
      var d = ""
      var dots = ""
      var segment: [(Double, Double)] = []
      func flush() {
        if segment.count == 1, let p = segment.first {
          dots += "<circle cx=\"\(c(p.0))\" cy=\"\(c(p.1))\" r=\"2.5\"/>"
        } else if segment.count > 1 {
          d += "M" + segment.map { "\(c($0.0)) \(c($0.1))" }.joined(separator: "L")
        }
        segment.removeAll()
      }
      for p in s.points {
        if let px = x.position(p.x), let py = y.position(p.y) {
          segment.append((px, py))
        } else {
          flush()
        }
      }
      flush()
      let color = ChartPalette.color(s.colorIndex)
      let label = "<title>\(SVGText.escaped(s.label))</title>"
      if !d.isEmpty {
        out += "<path class=\"ln\(s.dashed ? " dash" : "")\" d=\"\(d)\" stroke=\"\(color)\">\(label)</path>"
      }
      if !dots.isEmpty { out += "<g fill=\"\(color)\">\(label)\(dots)</g>" }
    }
    var xTicks = Axis.ticks(x, count: 4)
    if integerX {
      xTicks = x.ticks(count: 4).filter { $0 == $0.rounded() }.compactMap { v in
        x.position(v).map { Axis.Tick(position: $0, label: SVGText.label(v)) }
      }
    }
    out += Axis.bottom(ticks: xTicks, y: frame.plotY.upperBound, span: frame.plotX, title: xTitle)
    out += Axis.left(ticks: Axis.ticks(y, count: 4), x: frame.plotX.lowerBound, span: frame.plotY)
    return out + "</svg>"
  }
}
