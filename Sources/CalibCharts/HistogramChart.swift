/// An SVG histogram of one or more series, with optional log-scaled counts and vertical
/// marker lines (for example clipping ranges).
///
/// One series is drawn as filled bars; several are drawn as step outlines in their
/// series colours so that they stay readable on top of each other. The x domain covers
/// every series' bins and every finite marker.
///
/// For example:
/// ```swift
/// let bins = HistogramBins(fitting: [0.1, 0.2, 0.2, 0.9], binCount: 10)
/// let svg = HistogramChart(
///   title: "values", series: [.init(label: "a", bins: bins)],
///   markers: [.init(value: 0.5, label: "clip")]
/// ).svg()
/// ```
public struct HistogramChart: Sendable {
  /// A set of bins drawn in the colour of `colorIndex`.
  public struct Series: Sendable {
    /// The name shown when hovering over the series or marker.
    public var label: String
    /// The counts to draw.
    public var bins: HistogramBins
    /// The ``ChartPalette/color(_:)`` index.
    public var colorIndex: Int

    /// A series of `bins` named `label`.
    public init(label: String, bins: HistogramBins, colorIndex: Int = 0) {
      self.label = label
      self.bins = bins
      self.colorIndex = colorIndex
    }
  }

  /// A vertical line at `value`.
  public struct Marker: Sendable {
    /// The x value of the line (a non-finite value is not drawn).
    public var value: Double
    /// The name shown when hovering over the series or marker.
    public var label: String
    /// The ``ChartPalette/color(_:)`` index.
    public var colorIndex: Int

    /// A marker at `value` named `label`.
    public init(value: Double, label: String, colorIndex: Int = 0) {
      self.value = value
      self.label = label
      self.colorIndex = colorIndex
    }
  }

  /// The chart's title, drawn at its top left.
  public var title: String
  /// The histograms to draw.
  public var series: [Series]
  /// Vertical lines to draw over the bars.
  public var markers: [Marker]
  /// Whether counts use a ``LogScale`` (else a linear scale from 0).
  public var logCounts: Bool
  /// The x axis's name, drawn at the plot's top right.
  public var xTitle: String?
  /// The chart's size and margins.
  public var frame: ChartFrame

  /// A histogram chart of `series` with `markers`.
  public init(
    title: String, series: [Series], markers: [Marker] = [], logCounts: Bool = false, xTitle: String? = nil,
    frame: ChartFrame = ChartFrame()
  ) {
    self.title = title
    self.series = series
    self.markers = markers
    self.logCounts = logCounts
    self.xTitle = xTitle
    self.frame = frame
  }

  /// The chart as one `<svg>` element ("no data" when every series is empty).
  public func svg() -> String {
    var out = frame.open(class: "chart hist", title: title)
    let nonEmpty = series.filter { $0.bins.total > 0 }
    guard !nonEmpty.isEmpty else { return out + frame.noData() + "</svg>" }
    var edges = nonEmpty.flatMap { [$0.bins.lowerBound, $0.bins.upperBound] }
    edges += markers.map(\.value)
    let x = LinearScale(fitting: edges, range: frame.plotX)
    let top = Double(nonEmpty.map { $0.bins.counts.max() ?? 0 }.max() ?? 0)
    let y: (Double) -> Double?
    let yTicks: [Axis.Tick]
    if logCounts {
      let s = LogScale(maximum: top, range: frame.plotY, flipped: true)
      y = s.position
      yTicks = Axis.ticks(s)
    } else {
      let s = LinearScale(domain: 0...max(top, 1), range: frame.plotY, flipped: true).niced(count: 4)
      y = s.position
      yTicks = Axis.ticks(s, count: 4)
    }
    let base = frame.plotY.upperBound
    let c = SVGText.coordinate
    for s in nonEmpty {
      let b = s.bins
      var d = ""
      var previousTop = base
      var lastX = 0.0
      for (i, count) in b.counts.enumerated() {
        guard let x0 = x.position(b.lowerBound + Double(i) * b.binWidth),
          let x1 = x.position(b.lowerBound + Double(i + 1) * b.binWidth)
        else { continue }
        let h = count > 0 ? (y(Double(count)) ?? base) : base
        // A count of 1 sits on the log baseline; lift it a pixel so it stays visible.
        let top = count > 0 ? min(h, base - 1) : base
        if d.isEmpty {
          d = "M\(c(x0)) \(c(base))"
        } else if top != previousTop {
          // A horizontal run ends only where the height changes, so flat stretches of
          // empty bins cost nothing.
          d += "H\(c(x0))"
        }
        if top != previousTop { d += "V\(c(top))" }
        previousTop = top
        lastX = x1
      }
      if !d.isEmpty { d += "H\(c(lastX))V\(c(base))" }
      let color = ChartPalette.color(s.colorIndex)
      if nonEmpty.count == 1 {
        out += "<path class=\"bars\" d=\"\(d)Z\" fill=\"\(color)\"><title>\(SVGText.escaped(s.label))</title></path>"
      } else {
        out += "<path class=\"step\" d=\"\(d)\" stroke=\"\(color)\"><title>\(SVGText.escaped(s.label))</title></path>"
      }
    }
    for m in markers {
      guard let px = x.position(m.value) else { continue }
      out += "<path class=\"mark\" d=\"M\(c(px)) \(c(frame.plotY.lowerBound))V\(c(base))\" stroke=\"\(ChartPalette.color(m.colorIndex))\">"
        + "<title>\(SVGText.escaped(m.label))</title></path>"
    }
    out += Axis.bottom(ticks: Axis.ticks(x, count: 4), y: base, span: frame.plotX, title: xTitle)
    out += Axis.left(ticks: yTicks, x: frame.plotX.lowerBound, span: frame.plotY)
    return out + "</svg>"
  }
}
