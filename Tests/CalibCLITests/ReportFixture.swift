import CalibTestSupport
import Foundation
import Testing

/// The bundled sample recorded as "w8a8" and replayed as "w4" (4-bit weights) and
/// "minmax" (observer minmax): three runs that differ per module, cheap to make.
final class ReportRuns: Sendable {
  let dir: TemporaryDirectory
  let store: String
  let runs = ["w8a8", "w4", "minmax"]

  init() async throws {
    dir = try TemporaryDirectory()
    store = dir.path("s.sqlite")
    await calibSucceeds(["record", store, "--run", "w8a8", "--recipe", BundledSample.recipe("w8a8-static.yaml"), "--weights", BundledSample.weights] + BundledSample.steps)
    await calibSucceeds(["replay", store, "--from", "w8a8", "--name", "w4", "--set", "weights.num_bits=4", "-q"])
    await calibSucceeds(["replay", store, "--from", "w8a8", "--name", "minmax", "--observer", "minmax", "-q"])
  }

  /// Writes the report of `runs` (plus `extra` arguments) and returns its text.
  func report(_ runs: [String]? = nil, _ extra: [String] = [], name: String = "report.html") async throws -> String {
    let out = dir.path(name)
    await calibSucceeds(["report", store] + (runs ?? self.runs) + ["-o", out] + extra)
    return try String(contentsOfFile: out, encoding: .utf8)
  }
}

/// A heatmap cell of a report: the values of its data attributes.
struct ReportCell: Hashable {
  var module: String
  var baseName: String
  var run: String
  var sqnr: String
  var winner: Bool

  /// Every `hm-cell` group in `html`, in document order.
  static func all(in html: String) throws -> [ReportCell] {
    let pattern = try Regex(#"<g class="hm-cell[^"]*"([^>]*)>"#)
    return html.matches(of: pattern).map { match in
      let attributes = String(html[match.range]) 
      return ReportCell(
        module: value("data-module", in: attributes) ?? "", baseName: value("data-base-name", in: attributes) ?? "",
        run: value("data-run", in: attributes) ?? "", sqnr: value("data-sqnr", in: attributes) ?? "",
        winner: value("data-winner", in: attributes) == "true")
    }
  }

  /// The unescaped value of attribute `name` in a tag's text.
  static func value(_ name: String, in tag: String) -> String? {
    guard let start = tag.range(of: " \(name)=\"") else { return nil }
    let rest = tag[start.upperBound...]
    guard let end = rest.firstIndex(of: "\"") else { return nil }
    return String(rest[..<end]).replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
      .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
      .replacingOccurrences(of: "&amp;", with: "&")
  }
}

/// `rank --format json`'s SQNR texts, exactly as printed, keyed by (module, base, run), and
/// each pair's first-ranked run.
struct RankOutput {
  var sqnr: [String: String] = [:]
  var winners: [String: String] = [:]

  static func key(_ module: String, _ base: String, _ run: String = "") -> String { module + "\u{1}" + base + "\u{1}" + run }

  /// Reads the indented JSON line by line so that numbers keep the text rank printed.
  init(json: String) {
    var module = ""
    var base = ""
    var run = ""
    func string(_ line: Substring) -> String {
      let v = line.split(separator: ": ", maxSplits: 1).last ?? ""
      return String(v.trimmingCharacters(in: CharacterSet(charactersIn: "\",")))
    }
    for line in json.split(separator: "\n").map({ $0.drop { $0 == " " } }) {
      if line.hasPrefix("\"module\": ") { module = string(line) }
      if line.hasPrefix("\"base_name\": ") { base = string(line) }
      if line.hasPrefix("\"run\": ") { run = string(line) }
      if line.hasPrefix("\"sqnr_db\": ") {
        let v = line.dropFirst("\"sqnr_db\": ".count)
        sqnr[Self.key(module, base, run)] = String(v.hasSuffix(",") ? v.dropLast() : v).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        if winners[Self.key(module, base)] == nil { winners[Self.key(module, base)] = run }
      }
    }
  }
}
