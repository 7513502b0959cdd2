/// The outer size of a chart and the margins around its plot area, in CSS pixels.
///
/// For example:
/// ```swift
/// let frame = ChartFrame(width: 320, height: 180)
/// frame.plotX  // 48...312
/// ```
public struct ChartFrame: Sendable, Equatable {
  /// The whole chart's width.
  public var width: Double
  /// The whole chart's height.
  public var height: Double
  /// Space left of the plot, for the y tick labels.
  public var left: Double
  /// Space right of the plot.
  public var right: Double
  /// Space above the plot, for the title.
  public var top: Double
  /// Space below the plot, for the x tick labels.
  public var bottom: Double

  /// A frame of the given size and margins (defaults fit a small chart with 4-digit labels).
  public init(width: Double = 320, height: Double = 180, left: Double = 48, right: Double = 8, top: Double = 20, bottom: Double = 30) {
    self.width = width
    self.height = height
    self.left = left
    self.right = right
    self.top = top
    self.bottom = bottom
  }

  /// The plot area's horizontal pixel interval.
  public var plotX: ClosedRange<Double> { left...max(left, width - right) }
  /// The plot area's vertical pixel interval (top to bottom).
  public var plotY: ClosedRange<Double> { top...max(top, height - bottom) }

  /// The opening `<svg>` tag, a `<title>` and the title text drawn at the top left.
  func open(class cssClass: String, title: String) -> String {
    let w = SVGText.coordinate(width)
    let h = SVGText.coordinate(height)
    let t = SVGText.escaped(title)
    return "<svg class=\"\(cssClass)\" viewBox=\"0 0 \(w) \(h)\" width=\"\(w)\" height=\"\(h)\" role=\"img\">"
      + "<title>\(t)</title><text class=\"ttl\" x=\"\(SVGText.coordinate(left))\" y=\"13\">\(t)</text>"
  }

  /// A centred "no data" note in the plot area.
  func noData() -> String {
    let x = SVGText.coordinate((plotX.lowerBound + plotX.upperBound) / 2)
    let y = SVGText.coordinate((plotY.lowerBound + plotY.upperBound) / 2)
    return "<text class=\"nodata\" x=\"\(x)\" y=\"\(y)\" text-anchor=\"middle\">no data</text>"
  }
}
