import CalibCLI
import CalibCore
import CalibFormats
import CalibStore
import CalibTestSupport
import Foundation
import Testing

@Suite struct ReportCommandTests {}

// MARK: - Heatmap against rank

extension ReportCommandTests {
  @Test func heatmapCellsCarryRanksSQNRText() async throws {
    let fixture = try await ReportRuns()
    let html = try await fixture.report()
    let cells = try ReportCell.all(in: html)
    let rank = await calibSucceeds(["rank", fixture.store] + fixture.runs + ["--format", "json"])
    let expected = RankOutput(json: rank.stdout)
    #expect(!expected.sqnr.isEmpty)
    // One cell per (module, base name, run); the pairs are exactly rank's.
    let pairs = Set(cells.map { RankOutput.key($0.module, $0.baseName) })
    #expect(cells.count == pairs.count * fixture.runs.count)
    #expect(Set(cells.map { RankOutput.key($0.module, $0.baseName, $0.run) }).count == cells.count)
    #expect(pairs == Set(expected.winners.keys))
    for cell in cells {
      let key = RankOutput.key(cell.module, cell.baseName, cell.run)
      #expect(cell.sqnr == (expected.sqnr[key] ?? ""), "\(cell)")
      if cell.winner { #expect(expected.winners[RankOutput.key(cell.module, cell.baseName)] == cell.run, "\(cell)") }
    }
    #expect(cells.filter(\.winner).count == pairs.count, "every measured pair has a winner")
    #expect(cells.allSatisfy { Double($0.sqnr) != nil }, "the sample's SQNRs are all finite numbers")
  }

  @Test func filtersKeepOnlyMatchingPairs() async throws {
    let fixture = try await ReportRuns()
    let html = try await fixture.report(["w8a8", "minmax"], ["--base-name", "input", "--module", "*.dense"], name: "f.html")
    let cells = try ReportCell.all(in: html)
    #expect(cells.count == 2 * 3, "three dense modules' inputs, two runs")
    #expect(cells.allSatisfy { $0.baseName == "input" && $0.module.hasSuffix(".dense") })
    let rank = await calibSucceeds(["rank", fixture.store, "w8a8", "minmax", "--base-name", "input", "--module", "*.dense", "--format", "json"])
    let expected = RankOutput(json: rank.stdout)
    for cell in cells { #expect(cell.sqnr == expected.sqnr[RankOutput.key(cell.module, cell.baseName, cell.run)]) }
  }

  @Test func oneRunIsEnough() async throws {
    let fixture = try await ReportRuns()
    let html = try await fixture.report(["w4"], name: "one.html")
    let cells = try ReportCell.all(in: html)
    #expect(cells.count == 15)
    #expect(cells.allSatisfy { $0.winner })
  }
}

// MARK: - Page contract

extension ReportCommandTests {
  @Test func sameStoreAndArgumentsGiveTheSameBytes() async throws {
    let fixture = try await ReportRuns()
    let a = try await fixture.report(name: "a.html")
    let b = try await fixture.report(name: "b.html")
    #expect(a == b)
    let stdout = await calibSucceeds(["report", fixture.store] + fixture.runs + ["-o", "-"])
    #expect(stdout.stdout == a)
    #expect(stdout.stderr.hasPrefix("Wrote report of 3 run(s) over 15 module/base pairs to stdout: "))
  }

  @Test func pageIsSelfContained() async throws {
    let fixture = try await ReportRuns()
    let html = try await fixture.report()
    #expect(html.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"))
    for forbidden in ["://", " src=", "url(", "@import", "<link", "<iframe", "<object", "<embed", "<img", "fetch(", "XMLHttpRequest"] {
      #expect(!html.contains(forbidden), "the page must not reference \(forbidden)")
    }
    let links = html.ranges(of: "href=\"").map { html[$0.upperBound...].prefix(1) }
    #expect(links.allSatisfy { $0 == "#" }, "links are fragments within the page")
    for id in ["summary", "heatmap", "flags", "details", "flag-uncalibrated", "flag-nonfinite", "flag-scales"] {
      #expect(html.contains("id=\"\(id)\""), "section \(id)")
    }
    #expect(html.components(separatedBy: "<section class=\"pair\"").count - 1 == 15)
  }

  /// The size budget (5 MB for 500 module/base pairs × 4 runs) holds per pair: the charts
  /// cap their points, so a pair costs about the same whatever its channel count.
  /// `calib-bench report` measures the full-size case.
  @Test func pageStaysWithinThePerPairBudget() async throws {
    let fixture = try await ReportRuns()
    let html = try await fixture.report()
    #expect(html.utf8.count < 15 * 5_000_000 / 500, "\(html.utf8.count) bytes for 15 pairs × 3 runs")
  }

  @Test func headerShowsRunsAndRecipeDifferences() async throws {
    let fixture = try await ReportRuns()
    let html = try await fixture.report()
    let runs = try CalibrationStore(path: fixture.store, readOnly: true).runs()
    for r in runs {
      #expect(html.contains("<tr data-run=\"\(r.name)\">"))
      #expect(html.contains("<td>\(r.createdAt)</td>"))
    }
    #expect(html.contains("<td class=\"diff\">linears.weights.num_bits: 8 -&gt; 4</td>"))
    #expect(html.contains("attention.input_activations.observer: &quot;static_minmax&quot; -&gt; &quot;minmax&quot;"))
  }

  @Test func detailHasEveryChartKind() async throws {
    let fixture = try await ReportRuns()
    let html = try await fixture.report()
    let input = try #require(html.range(of: "<section class=\"pair\" id=\"p-1\""))
    let section = try #require(html[input.lowerBound...].split(separator: "</section>").first)
    for title in ["scale values", "scale ÷ w8a8&#39;s", "running min (dashed) / max per step", "scale per step (mean)", "sample values (log count) and clipping ranges"] {
      #expect(section.contains("<title>\(title)</title>"), "\(title)")
    }
    #expect(section.contains("class=\"mark\""), "clipping ranges are drawn")
    let weight = try #require(html.range(of: "<section class=\"pair\" id=\"p-0\""))
    let weightSection = try #require(html[weight.lowerBound...].split(separator: "</section>").first)
    #expect(!weightSection.contains("per step"), "weights have no per-step trajectory")
    #expect(weightSection.contains("<title>sample values (log count) and clipping ranges</title>"))
  }
}

// MARK: - Flags

extension ReportCommandTests {
  @Test func scaleDifferencesFollowRtol() async throws {
    let fixture = try await ReportRuns()
    let strict = try await fixture.report(["w8a8", "w4"], ["--rtol", "0"], name: "strict.html")
    let loose = try await fixture.report(["w8a8", "w4"], ["--rtol", "1e9"], name: "loose.html")
    #expect(strict.contains("(max relative difference) (6)</h3>"), "the six 4-bit weights differ")
    #expect(loose.contains("(max relative difference) (0)</h3>"))
  }

  @Test func nonFiniteSamplesAreFlagged() async throws {
    let dir = try TemporaryDirectory()
    for (step, values) in [[Float]]([[1, 2, 3, 4, 5, 6, 7, 8], [1, 2, .nan, 4, 5, .infinity, 7, 8]]).enumerated() {
      var writer = SafetensorsWriter(metadata: ["step": String(step)])
      writer.append(name: "m.input", tensor: Tensor(shape: [1, 2, 4], values: values))
      try writer.write(to: dir.path("s\(step).safetensors"))
    }
    var weights = SafetensorsWriter(metadata: [:])
    weights.append(name: "m.weight", tensor: Tensor(shape: [4, 4], repeating: 0.5))
    try weights.write(to: dir.path("w.safetensors"))
    let recipe = dir.path("r.yaml")
    try "config_groups: {g: {targets: [Linear], input_activations: {num_bits: 8, strategy: tensor}}}".write(toFile: recipe, atomically: true, encoding: .utf8)
    let store = dir.path("s.sqlite")
    await calibSucceeds(["record", store, "--run", "a", "--allow-nonfinite", "--recipe", recipe, "--weights", dir.path("w.safetensors"), dir.path("s0.safetensors"), dir.path("s1.safetensors")])
    let out = dir.path("r.html")
    await calibSucceeds(["report", store, "a", "-o", out])
    let html = try String(contentsOfFile: out, encoding: .utf8)
    #expect(html.contains("Non-finite samples skipped by observers and metrics (1)</h3>"))
    #expect(html.contains("m · input</a>: 1 sample(s) with NaN or ±inf skipped (of 2)"))
    #expect(html.contains("1 sample(s) from a's recording, 1 non-finite skipped"))
  }

  @Test func uncalibratedExpertsAreFlagged() async throws {
    let root = repositoryRoot.appendingPathComponent("Tests/Fixtures/oneshot/mixtral-w8a8/recording")
    let dir = try TemporaryDirectory()
    let store = dir.path("s.sqlite")
    await calibSucceeds(["record", store, "--run", "r", root.path, "-q"])
    let show = await calibSucceeds(["show", store, "r", "--format", "json"])
    let entries = try #require(try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [[String: Any]])
    let uncalibrated = entries.filter { $0["calibrated"] as? Bool == false }
    #expect(!uncalibrated.isEmpty)
    let out = dir.path("r.html")
    await calibSucceeds(["report", store, "r", "-o", out])
    let html = try String(contentsOfFile: out, encoding: .utf8)
    #expect(html.contains("Uncalibrated: activations whose observer received no samples (\(uncalibrated.count))</h3>"))
    for e in uncalibrated {
      #expect(html.contains("\(e["module"] as? String ?? "?") · \(e["base_name"] as? String ?? "?")</a>: r</li>"))
    }
  }
}

// MARK: - Errors

extension ReportCommandTests {
  struct ErrorCase: Sendable, CustomTestStringConvertible {
    var id: String
    var arguments: [String]
    var exitCode: Int32
    var message: String
    /// A word the message must not use (another command's wording).
    var notMentioning: String?
    var testDescription: String { id }

    init(id: String, arguments: [String], exitCode: Int32, message: String, notMentioning: String? = nil) {
      (self.id, self.arguments, self.exitCode, self.message, self.notMentioning) = (id, arguments, exitCode, message, notMentioning)
    }
  }

  static let errorCases: [ErrorCase] = [
    ErrorCase(id: "no runs", arguments: ["-o", "x.html"], exitCode: 64, message: "Missing expected argument '<runs> ...'"),
    ErrorCase(id: "no output", arguments: ["w8a8"], exitCode: 64, message: "Missing expected argument '--output <file>'"),
    ErrorCase(id: "negative rtol", arguments: ["w8a8", "-o", "x.html", "--rtol", "-1"], exitCode: 64, message: "--rtol -1.0 is invalid"),
    ErrorCase(id: "run twice", arguments: ["w8a8", "w8a8", "-o", "x.html"], exitCode: 64, message: "each run may be given once"),
    ErrorCase(id: "unknown run", arguments: ["w8a8", "nope", "-o", "x.html"], exitCode: 1, message: "run \"nope\" not found"),
    ErrorCase(
      id: "store file as output", arguments: ["w8a8", "-o", "STORE"], exitCode: 1,
      message: "is one of the files of store", notMentioning: "export"),
    ErrorCase(
      id: "device as output", arguments: ["w8a8", "-o", "/dev/null"], exitCode: 1,
      message: "is not a regular file (a device, pipe or socket): give a file name to report to ('-' writes the page to stdout)",
      notMentioning: "JSON"),
  ]

  @Test(arguments: errorCases)
  func errorsNameTheProblem(_ c: ErrorCase) async throws {
    let dir = try TemporaryDirectory()
    let store = dir.path("s.sqlite")
    await calibSucceeds(["record", store, "--run", "w8a8", "--recipe", BundledSample.recipe("w8a8-static.yaml"), "--weights", BundledSample.weights, BundledSample.steps[0], "-q"])
    let arguments = c.arguments.map { $0 == "STORE" ? store : ($0.hasSuffix(".html") ? dir.path($0) : $0) }
    let r = await calib(["report", store] + arguments)
    #expect(r.exitCode == c.exitCode, "\(r.stderr)")
    #expect(r.stderr.contains(c.message), "\(r.stderr)")
    if let word = c.notMentioning { #expect(!r.stderr.contains(word), "\(r.stderr)") }
  }
}
