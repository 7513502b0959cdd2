import CalibCharts
import Testing

@Suite struct ChartTests {}

/// The number of times `needle` occurs in `s`.
private func occurrences(_ needle: String, in s: String) -> Int {
  s.components(separatedBy: needle).count - 1
}

extension String {
  fileprivate func components(separatedBy separator: String) -> [Substring] {
    split(separator: separator, omittingEmptySubsequences: false)
  }
}

// MARK: - Histogram bins

extension ChartTests {
  @Test func binsCountEdgesNonFiniteAndOutside() {
    var bins = HistogramBins(lowerBound: 0, upperBound: 1, binCount: 4)
    for v in [0, 0.1, 0.25, 0.99, 1, -0.1, 1.5, .nan, .infinity, -.infinity] { bins.add(v) }
    #expect(bins.counts == [2, 1, 0, 2])
    #expect(bins.nonFinite == 3)
    #expect(bins.outside == 2)
    #expect(bins.total == 5)
  }

  @Test func floatFastPathAgreesWithOneByOne() {
    let values: [Float] = [-2, -1.5, 0, 0.5, 3, .nan, .infinity, 4, 4, -0.0, .leastNonzeroMagnitude]
    var a = HistogramBins(lowerBound: -2, upperBound: 4, binCount: 7)
    var b = a
    for v in values { a.add(Double(v)) }
    values.withUnsafeBufferPointer { b.add($0) }
    #expect(a == b)
  }

  @Test func constantAndEmptyInputs() {
    let constant = HistogramBins(fitting: [2, 2, 2], binCount: 5)
    #expect(constant.lowerBound < 2 && constant.upperBound > 2)
    #expect(constant.total == 3)
    #expect(constant.counts.filter { $0 > 0 } == [3])
    let empty = HistogramBins(fitting: [], binCount: 3)
    #expect(empty.total == 0)
    #expect(empty.lowerBound == 0 && empty.upperBound == 1)
    let nanOnly = HistogramBins(fitting: [.nan, .nan], binCount: 3)
    #expect(nanOnly.total == 0 && nanOnly.nonFinite == 2)
    let reversed = HistogramBins(lowerBound: 5, upperBound: 1, binCount: 2)
    #expect(reversed.lowerBound == 1 && reversed.upperBound == 5)
  }
}

// MARK: - Histogram chart

extension ChartTests {
  @Test func oneSeriesIsFilledBarsWithMarkers() {
    let bins = HistogramBins(fitting: [0.1, 0.2, 0.2, 0.9], binCount: 10)
    let svg = HistogramChart(
      title: "values", series: [.init(label: "s", bins: bins)],
      markers: [.init(value: 0.5, label: "clip"), .init(value: .nan, label: "skipped")]
    ).svg()
    #expect(svg.hasPrefix("<svg class=\"chart hist\""))
    #expect(svg.hasSuffix("</svg>"))
    #expect(occurrences("class=\"bars\"", in: svg) == 1)
    #expect(occurrences("class=\"mark\"", in: svg) == 1)
    #expect(!svg.contains("nan"))
    #expect(!svg.contains("no data"))
  }

  @Test func severalSeriesAreStepOutlines() {
    let a = HistogramBins(fitting: [1, 2, 3], binCount: 4)
    let b = HistogramBins(fitting: [2, 3, 4], binCount: 4)
    let svg = HistogramChart(title: "t", series: [.init(label: "a", bins: a), .init(label: "b", bins: b, colorIndex: 1)]).svg()
    #expect(occurrences("class=\"step\"", in: svg) == 2)
    #expect(svg.contains(ChartPalette.color(1)))
  }

  @Test func emptySeriesSayNoData() {
    let svg = HistogramChart(title: "t", series: [.init(label: "a", bins: HistogramBins(fitting: [], binCount: 4))]).svg()
    #expect(svg.contains("no data"))
    #expect(HistogramChart(title: "t", series: []).svg().contains("no data"))
  }

  @Test func logCountsUsePowerOfTenTicks() {
    var bins = HistogramBins(lowerBound: 0, upperBound: 1, binCount: 2)
    for _ in 0..<1500 { bins.add(0.1) }
    bins.add(0.9)
    let svg = HistogramChart(title: "t", series: [.init(label: "a", bins: bins)], logCounts: true).svg()
    for label in [">1<", ">10<", ">100<", ">1e+03<"] { #expect(svg.contains(label), "\(label)") }
  }

  @Test func singleValueHistogramDrawsOneBar() {
    let svg = HistogramChart(title: "t", series: [.init(label: "a", bins: HistogramBins(fitting: [0.5], binCount: 8))]).svg()
    #expect(occurrences("class=\"bars\"", in: svg) == 1)
    #expect(!svg.contains("no data"))
  }
}

// MARK: - Line chart

extension ChartTests {
  @Test func nanBreaksTheLineAndLonePointsAreDots() {
    let series = LineChart.Series(label: "s", points: [(0, 1), (1, 2), (2, .nan), (3, 4), (4, .infinity), (5, 5), (6, 6)])
    let svg = LineChart(title: "t", series: [series]).svg()
    // Segments: (0,1)-(1,2) and (5,5)-(6,6) in one path with two moves; (3,4) alone is a dot.
    #expect(occurrences("<path class=\"ln\"", in: svg) == 1)
    let path = svg.split(separator: "<path class=\"ln\" d=\"")[1].prefix { $0 != "\"" }
    #expect(occurrences("M", in: String(path)) == 2)
    #expect(occurrences("<circle", in: svg) == 1)
    #expect(!svg.contains("nan"))
  }

  @Test func singlePointAndEmptySeries() {
    let one = LineChart(title: "t", series: [.init(label: "s", points: [(0, 3)])]).svg()
    #expect(occurrences("<circle", in: one) == 1)
    #expect(!one.contains("no data"))
    #expect(LineChart(title: "t", series: [.init(label: "s", points: [])]).svg().contains("no data"))
    #expect(LineChart(title: "t", series: [.init(label: "s", points: [(.nan, .nan)])]).svg().contains("no data"))
  }

  @Test func dashedSeriesAndIntegerTicks() {
    let svg = LineChart(
      title: "t", series: [.init(label: "s", points: [(0, 1), (1, 2), (2, 3)], dashed: true)], integerX: true
    ).svg()
    #expect(svg.contains("class=\"ln dash\""))
    #expect(!svg.contains(">0.5<"))
  }

  @Test func outputIsDeterministic() {
    let make = { LineChart(title: "t", series: [.init(label: "s", points: (0..<50).map { (Double($0), Double($0 * $0) / 7) })]).svg() }
    #expect(make() == make())
  }
}

// MARK: - Heatmap

extension ChartTests {
  @Test func cellsCarryAttributesColoursAndWinners() {
    let map = Heatmap(columns: ["a", "b"], rows: [
      .init(label: "m1", group: "layer.0", link: "#p-0", attributes: [("data-module", "m1")], cells: [
        .init(value: 10, text: "10", attributes: [("data-run", "a")]),
        .init(value: 20, text: "20", marked: true, attributes: [("data-run", "b")]),
      ]),
      .init(label: "m2", group: "layer.0", cells: [.init(value: nil, text: "-"), .init(value: .nan, text: "nan")]),
      .init(label: "m3", group: "layer.1", cells: [.init(value: 15, text: "15"), .init(value: 15, text: "15")]),
    ])
    let svg = map.svg()
    #expect(map.valueRange == 10...20)
    #expect(occurrences("class=\"hm-row\"", in: svg) == 3)
    #expect(occurrences("class=\"hm-grp\"", in: svg) == 2)
    #expect(occurrences("<g class=\"hm-cell", in: svg) == 6)
    #expect(occurrences("hm-cell win", in: svg) == 1)
    #expect(svg.contains("data-run=\"b\""))
    #expect(svg.contains("<a href=\"#p-0\">"))
    #expect(svg.contains("fill=\"\(ChartPalette.ramp(0))\""))
    #expect(svg.contains("fill=\"\(ChartPalette.ramp(1))\""))
    #expect(occurrences("fill=\"#cccccc\"", in: svg) == 2)
  }

  @Test func rampPositionsForSingleValueAndMissing() {
    let one = Heatmap(columns: ["a"], rows: [.init(label: "m", cells: [.init(value: 3, text: "3")])])
    #expect(one.rampPosition(3) == 0.5)
    #expect(one.rampPosition(nil).isNaN)
    #expect(one.rampPosition(.infinity).isNaN)
    #expect(!one.svg().contains("hm-grp"))
    let none = Heatmap(columns: ["a"], rows: [])
    #expect(none.valueRange == nil)
    #expect(none.svg().contains("no data"))
  }

  @Test func attributeValuesAndLabelsAreEscaped() {
    let map = Heatmap(columns: ["<run>"], rows: [
      .init(label: "a&b", attributes: [("data-module", "x\"><script>")], cells: [.init(value: 1, text: "<1>")]),
    ])
    let svg = map.svg()
    #expect(!svg.contains("<script>"))
    #expect(svg.contains("x&quot;&gt;&lt;script&gt;"))
    #expect(svg.contains("a&amp;b"))
    #expect(svg.contains("&lt;run&gt;"))
  }

  @Test func rampEndsAndNaN() {
    #expect(ChartPalette.ramp(0) == "#440154")
    #expect(ChartPalette.ramp(1) == "#fde725")
    #expect(ChartPalette.ramp(-5) == "#440154")
    #expect(ChartPalette.ramp(.nan) == "#cccccc")
    #expect(ChartPalette.color(8) == ChartPalette.color(0))
    #expect(ChartPalette.color(-1) == ChartPalette.color(7))
  }
}
