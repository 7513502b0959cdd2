/// Axis lines, tick marks and tick labels for the chart builders. Label alignment comes
/// from ``ChartStyle/stylesheet`` (`.xa` labels centred, `.ya` labels and `.axt` titles
/// right-aligned), which keeps every label one attribute shorter.
///
/// For example:
/// ```swift
/// let x = LinearScale(domain: 0...1, range: 48...312)
/// let svg = Axis.bottom(ticks: Axis.ticks(x), y: 150, span: x.range)
/// ```
public enum Axis {
  /// A tick: its pixel position and its label.
  public struct Tick: Sendable, Equatable {
    /// Where the tick sits, in pixels along the axis.
    public var position: Double
    /// The text under (or beside) the tick.
    public var label: String

    /// A tick at `position` labelled `label`.
    public init(position: Double, label: String) {
      self.position = position
      self.label = label
    }
  }

  /// The ticks of a linear scale, labelled with ``SVGText/label(_:digits:)``.
  public static func ticks(_ scale: LinearScale, count: Int = 5) -> [Tick] {
    scale.ticks(count: count).compactMap { v in scale.position(v).map { Tick(position: $0, label: SVGText.label(v)) } }
  }

  /// The ticks of a log scale at powers of ten (`1`, `10`, `100`, `1e+03`, …).
  public static func ticks(_ scale: LogScale) -> [Tick] {
    scale.ticks().compactMap { v in scale.position(v).map { Tick(position: $0, label: SVGText.label(v, digits: 3)) } }
  }

  /// A horizontal axis at height `y` across `span`, with ticks below it; `title` names the
  /// axis at the top right of the plot, at height `titleY`, clear of the tick labels.
  public static func bottom(ticks: [Tick], y: Double, span: ClosedRange<Double>, title: String? = nil, titleY: Double = 13) -> String {
    let c = SVGText.coordinate
    var path = "M\(c(span.lowerBound)) \(c(y))H\(c(span.upperBound))"
    var labels = ""
    for t in ticks {
      path += "M\(c(t.position)) \(c(y))v4"
      labels += "<text x=\"\(c(t.position))\" y=\"\(c(y + 14))\">\(SVGText.escaped(t.label))</text>"
    }
    var out = "<g class=\"ax xa\"><path d=\"\(path)\"/>" + labels
    if let title {
      out += "<text class=\"axt\" x=\"\(c(span.upperBound))\" y=\"\(c(titleY))\">\(SVGText.escaped(title))</text>"
    }
    return out + "</g>"
  }

  /// A vertical axis at `x` across `span`, with ticks and right-aligned labels to its left.
  public static func left(ticks: [Tick], x: Double, span: ClosedRange<Double>) -> String {
    let c = SVGText.coordinate
    var path = "M\(c(x)) \(c(span.lowerBound))V\(c(span.upperBound))"
    var labels = ""
    for t in ticks {
      path += "M\(c(x)) \(c(t.position))h-4"
      labels += "<text x=\"\(c(x - 6))\" y=\"\(c(t.position + 3))\">\(SVGText.escaped(t.label))</text>"
    }
    return "<g class=\"ax ya\"><path d=\"\(path)\"/>" + labels + "</g>"
  }
}
