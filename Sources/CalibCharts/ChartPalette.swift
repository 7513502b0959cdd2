/// Series colours and the heatmap's colour ramp.
public enum ChartPalette {
  /// Eight colours that stay apart for the common forms of colour blindness; series
  /// index `i` uses `series[i % 8]`.
  public static let series = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#555555", "#b8a200"]

  /// The colour of series `index`.
  public static func color(_ index: Int) -> String { series[((index % series.count) + series.count) % series.count] }

  /// Stops of a dark-purple → teal → yellow ramp (low → high).
  static let ramp: [(Double, Double, Double)] = [
    (68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37),
  ]

  /// The ramp colour at `t` in 0...1 (clamped) as `#rrggbb`; NaN gives neutral grey.
  ///
  /// For example:
  /// ```swift
  /// ChartPalette.ramp(0)    // "#440154"
  /// ChartPalette.ramp(.nan) // "#cccccc"
  /// ```
  public static func ramp(_ t: Double) -> String {
    guard t.isFinite else { return "#cccccc" }
    let u = min(max(t, 0), 1) * Double(ramp.count - 1)
    let i = min(Int(u), ramp.count - 2)
    let f = u - Double(i)
    let (a, b) = (ramp[i], ramp[i + 1])
    return hex(a.0 + (b.0 - a.0) * f, a.1 + (b.1 - a.1) * f, a.2 + (b.2 - a.2) * f)
  }

  /// Whether text on the ramp colour at `t` reads better in white.
  public static func isDark(_ t: Double) -> Bool { t.isFinite && t < 0.55 }

  static func hex(_ r: Double, _ g: Double, _ b: Double) -> String {
    let digits = Array("0123456789abcdef")
    var s = "#"
    for c in [r, g, b] {
      let v = Int(min(max(c.rounded(), 0), 255))
      s.append(digits[v / 16])
      s.append(digits[v % 16])
    }
    return s
  }
}
