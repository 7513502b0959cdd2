import CalibTestSupport
import Foundation
import Testing

/// The bundled sample's report in a real browser: Debian's chromium, headless. Runs
/// whenever chromium is installed; with `CALIB_REQUIRE_BROWSER=1` (as `.ci/run` sets it) a
/// missing browser is a failure, not a skip.
@Suite(.serialized) struct ReportBrowserTests {
  private func browser(_ dir: TemporaryDirectory) -> HeadlessChromium? {
    guard let executable = HeadlessChromium.find() else {
      if HeadlessChromium.isRequired {
        Issue.record("CALIB_REQUIRE_BROWSER=1 but no chromium found on PATH (apt-get install chromium, or set CALIB_CHROMIUM)")
      } else {
        Issue.record("no chromium on PATH: the browser checks did not run (apt-get install chromium)", severity: .warning)
      }
      return nil
    }
    return HeadlessChromium(executable: executable, profiles: dir.path("profiles"))
  }

  @Test func domHasEverySectionAndOneCellPerModuleAndRun() async throws {
    let fixture = try await ReportRuns()
    guard let chromium = browser(fixture.dir) else { return }
    let source = try await fixture.report()
    let url = URL(fileURLWithPath: fixture.dir.path("report.html"))
    let netLog = fixture.dir.path("net.json")
    let dom = try chromium.run(["--dump-dom", "--log-net-log=\(netLog)"], url: url)

    #expect(dom.contains("data-script=\"ok\""), "the inline script ran to its end under the page's CSP")
    for id in ["summary", "heatmap", "flags", "details", "flag-uncalibrated", "flag-nonfinite", "flag-scales"] {
      #expect(dom.contains("id=\"\(id)\""), "section \(id) is in the DOM")
    }
    let cells = try ReportCell.all(in: dom)
    let pairs = Set(cells.map { RankOutput.key($0.module, $0.baseName) })
    #expect(pairs.count == 15)
    #expect(cells.count == pairs.count * fixture.runs.count)
    for run in fixture.runs { #expect(cells.filter { $0.run == run }.count == pairs.count, "\(run)") }
    #expect(Set(cells) == Set(try ReportCell.all(in: source)), "the browser sees the cells the file holds")
    #expect(dom.components(separatedBy: "<section class=\"pair\"").count - 1 == 15)

    let requests = try HeadlessChromium.pageRequests(netLog: netLog)
    #expect(requests.allSatisfy { $0.hasPrefix("file://") }, "page requests: \(requests)")
    #expect(requests.isEmpty, "the report loads nothing: \(requests)")
  }

  /// The page's script filters and sorts: started from the URL fragment, it hides the rows
  /// and details of other base names and orders each layer's rows by the first run's SQNR.
  @Test func fragmentFiltersAndSortsTheHeatmap() async throws {
    let fixture = try await ReportRuns()
    guard let chromium = browser(fixture.dir) else { return }
    _ = try await fixture.report()
    let page = try #require(URL(string: URL(fileURLWithPath: fixture.dir.path("report.html")).absoluteString + "#base=input&sort=0"))
    let dom = try chromium.run(["--dump-dom"], url: page)
    let rowPattern = try Regex(#"<g class="hm-row"[^>]*>"#)
    let rows = dom.matches(of: rowPattern).map { String(dom[$0.range]) }
    #expect(rows.count == 15)
    let shown = rows.filter { !$0.contains("display: none") }
    #expect(shown.count == 6)
    #expect(shown.allSatisfy { ReportCell.value("data-base-name", in: $0) == "input" })
    // Shown rows come first in the DOM, in ascending SQNR of run 0 (all in one layer here).
    let cells = try ReportCell.all(in: dom).filter { $0.run == fixture.runs[0] && $0.baseName == "input" }
    let sqnrs = cells.compactMap { Double($0.sqnr) }
    #expect(sqnrs.count == 6)
    #expect(sqnrs == sqnrs.sorted())
    let sections = dom.matches(of: try Regex(#"<section class="pair"[^>]*>"#)).map { String(dom[$0.range]) }
    #expect(sections.filter { !$0.contains("display: none") }.count == 6)
  }

  /// The request check above finds a page's request when there is one (so its silence
  /// means something): a page with one remote image.
  @Test func netLogCheckSeesAPageRequest() async throws {
    let dir = try TemporaryDirectory()
    guard let chromium = browser(dir) else { return }
    let page = dir.path("remote.html")
    try "<!DOCTYPE html><html><body><img src=\"http://127.0.0.1:9/x.png\"></body></html>".write(toFile: page, atomically: true, encoding: .utf8)
    let netLog = dir.path("net.json")
    _ = try chromium.run(["--dump-dom", "--log-net-log=\(netLog)"], url: URL(fileURLWithPath: page))
    #expect(try HeadlessChromium.pageRequests(netLog: netLog) == ["http://127.0.0.1:9/x.png"])

    // The report's Content-Security-Policy stops the same request before it is made.
    let policy = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
    let guarded = dir.path("guarded.html")
    try "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" content=\"\(policy)\"></head><body><img src=\"http://127.0.0.1:9/x.png\"></body></html>"
      .write(toFile: guarded, atomically: true, encoding: .utf8)
    let guardedLog = dir.path("guarded.json")
    _ = try chromium.run(["--dump-dom", "--log-net-log=\(guardedLog)"], url: URL(fileURLWithPath: guarded))
    #expect(try HeadlessChromium.pageRequests(netLog: guardedLog).isEmpty)
  }

  @Test func screenshotIsNotBlank() async throws {
    let fixture = try await ReportRuns()
    guard let chromium = browser(fixture.dir) else { return }
    _ = try await fixture.report()
    let size = ["--window-size=1280,1600"]
    let shot = fixture.dir.path("report.png")
    _ = try chromium.run(size + ["--screenshot=\(shot)"], url: URL(fileURLWithPath: fixture.dir.path("report.html")))
    let image = try PNGPixels(data: Array(try Data(contentsOf: URL(fileURLWithPath: shot))))
    #expect(image.width == 1280 && image.height == 1600)
    #expect(image.distinctColors > 100, "a chart page has many colours: \(image.distinctColors)")
    #expect(image.nonBackgroundFraction > 0.05, "more than 5% of the pixels are drawn: \(image.nonBackgroundFraction)")

    // The same check on an empty page, to show it tells a blank screenshot apart.
    let blankPage = fixture.dir.path("blank.html")
    try "<!DOCTYPE html><html><body></body></html>".write(toFile: blankPage, atomically: true, encoding: .utf8)
    let blankShot = fixture.dir.path("blank.png")
    _ = try chromium.run(size + ["--screenshot=\(blankShot)"], url: URL(fileURLWithPath: blankPage))
    let blank = try PNGPixels(data: Array(try Data(contentsOf: URL(fileURLWithPath: blankShot))))
    #expect(blank.distinctColors == 1 && blank.nonBackgroundFraction == 0)
  }
}
