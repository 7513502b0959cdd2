import CalibCharts
import Testing

@Suite struct ScaleTests {}

// MARK: - Linear scale

extension ScaleTests {
  struct TickCase: Sendable, CustomTestStringConvertible {
    var id: String
    var domain: ClosedRange<Double>
    var count: Int
    var expected: [Double]
    var testDescription: String { id }
  }

  static let tickCases: [TickCase] = [
    TickCase(id: "unit interval", domain: 0...1, count: 5, expected: [0, 0.2, 0.4, 0.6, 0.8, 1]),
    TickCase(id: "0 to 10", domain: 0...10, count: 5, expected: [0, 2, 4, 6, 8, 10]),
    TickCase(id: "negative to positive", domain: -3...7, count: 4, expected: [-2, 0, 2, 4, 6]),
    TickCase(id: "small magnitudes", domain: 0.0011...0.0049, count: 4, expected: [0.002, 0.003, 0.004]),
    TickCase(id: "large magnitudes", domain: 0...25_000, count: 5, expected: [0, 5000, 10000, 15000, 20000, 25000]),
    TickCase(id: "single value widened", domain: 4...4, count: 4, expected: [2, 3, 4, 5, 6]),
    TickCase(id: "single zero widened", domain: 0...0, count: 2, expected: [-1, 0, 1]),
  ]

  @Test(arguments: tickCases)
  func ticksAreRoundMultiplesInsideTheDomain(_ c: TickCase) {
    let s = LinearScale(domain: c.domain, range: 0...100)
    let ticks = s.ticks(count: c.count)
    #expect(ticks.count == c.expected.count, "\(ticks)")
    for (t, e) in zip(ticks, c.expected) {
      #expect(abs(t - e) <= 1e-12 * max(1, abs(e)), "\(ticks)")
      #expect(s.domain.contains(t))
    }
  }

  @Test func positionsMapLinearlyAndFlip() {
    let x = LinearScale(domain: 0...10, range: 40...440)
    #expect(x.position(0) == 40)
    #expect(x.position(5) == 240)
    #expect(x.position(10) == 440)
    #expect(x.position(-5) == -160)
    let y = LinearScale(domain: 0...10, range: 20...120, flipped: true)
    #expect(y.position(0) == 120)
    #expect(y.position(10) == 20)
  }

  @Test func nonFiniteValuesHaveNoPosition() {
    let x = LinearScale(domain: 0...1, range: 0...100)
    #expect(x.position(.nan) == nil)
    #expect(x.position(.infinity) == nil)
    #expect(x.position(-.infinity) == nil)
    #expect(x.position(-0.0) == 0)
  }

  @Test func fittingIgnoresNonFiniteAndDefaultsWhenEmpty() {
    let s = LinearScale(fitting: [.nan, 2, .infinity, 5, -.infinity], range: 0...1)
    #expect(s.domain == 2...5)
    #expect(LinearScale(fitting: [Double](), range: 0...1).domain == 0...1)
    #expect(LinearScale(fitting: [.nan, .nan], range: 0...1).domain == 0...1)
    #expect(LinearScale(fitting: [3, 5], range: 0...1, includingZero: true).domain == 0...5)
  }

  @Test func singleValueDomainsAreWidenedAroundTheValue() {
    let s = LinearScale(fitting: [0.25], range: 0...100)
    #expect(s.domain == 0.125...0.375)
    #expect(s.position(0.25) == 50)
    let zero = LinearScale(domain: 0...0, range: 0...100)
    #expect(zero.position(0) == 50)
    let tiny = LinearScale(domain: Double.leastNonzeroMagnitude...Double.leastNonzeroMagnitude, range: 0...100)
    #expect(tiny.position(Double.leastNonzeroMagnitude) != nil)
    let largest = LinearScale(fitting: [.greatestFiniteMagnitude], range: 0...100)
    #expect(largest.domain.upperBound.isFinite && largest.domain.lowerBound < largest.domain.upperBound)
    #expect(largest.position(.greatestFiniteMagnitude) == 100)
    let lowest = LinearScale(fitting: [-.greatestFiniteMagnitude], range: 0...100)
    #expect(lowest.position(-.greatestFiniteMagnitude) == 0)
  }

  @Test func extremeDomainsStillGiveTicks() {
    let huge = LinearScale(domain: -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude, range: 0...100)
    #expect(!huge.ticks().isEmpty)
    let subnormal = LinearScale(domain: 0...(Double.leastNormalMagnitude / 4), range: 0...100)
    #expect(!subnormal.ticks().isEmpty)
    #expect(huge.ticks().allSatisfy { $0.isFinite })
  }

  @Test func nicedWidensToTickMultiples() {
    let s = LinearScale(domain: 0.13...0.92, range: 0...100).niced()
    #expect(abs(s.domain.lowerBound - 0) < 1e-12)
    #expect(abs(s.domain.upperBound - 1) < 1e-12)
    let already = LinearScale(domain: 0...10, range: 0...100).niced()
    #expect(already.domain == 0...10)
  }
}

// MARK: - Log scale

extension ScaleTests {
  @Test func logScalePlacesPowersOfTenEvenly() {
    let y = LogScale(maximum: 1000, range: 0...300, flipped: true)
    #expect(y.ticks() == [1, 10, 100, 1000])
    #expect(y.position(1) == 300)
    #expect(abs((y.position(10) ?? 0) - 200) < 1e-9)
    #expect(abs((y.position(1000) ?? 0) - 0) < 1e-9)
  }

  @Test func logScaleBaselineZeroNaNAndTinyMaximum() {
    let y = LogScale(maximum: 1, range: 0...100)
    #expect(y.maximum == 10)
    #expect(y.ticks() == [1, 10])
    #expect(y.position(0) == 0)
    #expect(y.position(-3) == 0)
    #expect(y.position(.nan) == nil)
    #expect(y.position(.infinity) == nil)
    #expect(LogScale(maximum: .nan, range: 0...1).maximum == 10)
  }
}

// MARK: - Axis

extension ScaleTests {
  @Test func axisTicksCarryPositionsAndLabels() {
    let x = LinearScale(domain: 0...1, range: 0...100)
    let ticks = Axis.ticks(x, count: 2)
    #expect(ticks.map(\.label) == ["0", "0.5", "1"])
    #expect(ticks.map(\.position) == [0, 50, 100])
    let svg = Axis.bottom(ticks: ticks, y: 90, span: x.range, title: "a<b")
    #expect(svg.contains("<text x=\"50\" y=\"104\">0.5</text>"))
    #expect(svg.contains("a&lt;b"))
    let log = Axis.ticks(LogScale(maximum: 12_000, range: 0...100))
    #expect(log.map(\.label) == ["1", "10", "100", "1e+03", "1e+04"])
  }

  @Test func labelsAndCoordinatesAreCompactAndStable() {
    #expect(SVGText.label(0.1 + 0.2) == "0.3")
    #expect(SVGText.label(1.5e-7) == "1.5e-07")
    #expect(SVGText.label(.nan) == "nan")
    #expect(SVGText.label(-.infinity) == "-inf")
    #expect(SVGText.label(-0.0) == "0")
    #expect(SVGText.coordinate(12.04) == "12")
    #expect(SVGText.coordinate(-3.46) == "-3.5")
    #expect(SVGText.coordinate(-0.04) == "0")
    #expect(SVGText.coordinate(.nan) == "0")
    #expect(SVGText.coordinate(.greatestFiniteMagnitude) == "0")
    #expect(SVGText.escaped("a<b & \"c\" 'd'") == "a&lt;b &amp; &quot;c&quot; &#39;d&#39;")
  }
}
