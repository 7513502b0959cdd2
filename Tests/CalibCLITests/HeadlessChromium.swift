import Foundation
import Testing

/// Debian's `chromium` run headless on local files, one fresh profile per call so that
/// parallel tests do not share the profile lock.
struct HeadlessChromium {
  let executable: String
  let profiles: String

  /// The browser named by `CALIB_CHROMIUM`, or `chromium`/`chromium-browser` on PATH.
  static func find() -> String? {
    let environment = ProcessInfo.processInfo.environment
    if let named = environment["CALIB_CHROMIUM"], FileManager.default.isExecutableFile(atPath: named) { return named }
    let path = (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
    for name in ["chromium", "chromium-browser"] {
      for dir in path where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") { return "\(dir)/\(name)" }
    }
    return nil
  }

  /// Whether a missing browser fails the test (`CALIB_REQUIRE_BROWSER=1`, set by `.ci/run`).
  static var isRequired: Bool { ProcessInfo.processInfo.environment["CALIB_REQUIRE_BROWSER"] == "1" }

  /// Switches that keep the browser's own background traffic (updates, sync, sign-in) to a
  /// minimum; whatever remains is told apart from the page's requests in ``pageRequests(netLog:)``.
  static let quietSwitches = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps",
    "--disable-extensions", "--hide-scrollbars",
  ]

  /// Runs the browser on `url` with `switches`; returns its stdout. Killed after 300 s so a
  /// hung browser fails the test instead of stalling the run (not a timing assertion).
  func run(_ switches: [String], url: URL) throws -> String {
    let profile = profiles + "/profile-\(UUID().uuidString)"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = Self.quietSwitches + ["--user-data-dir=\(profile)"] + switches + [url.absoluteString]
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    let guardTimer = DispatchWorkItem { if process.isRunning { process.terminate() } }
    DispatchQueue.global().asyncAfter(deadline: .now() + 300, execute: guardTimer)
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guardTimer.cancel()
    return String(decoding: data, as: UTF8.self)
  }

  /// The URLs of requests the page started, from a `--log-net-log` file.
  ///
  /// Every request the network stack starts is a `URL_REQUEST_START_JOB` event. Chromium's
  /// own jobs (component updates, time queries, sign-in) carry the initiator
  /// `not an origin`; a page's requests carry the page's origin (`null` for a file:// page).
  static func pageRequests(netLog path: String) throws -> [String] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    let log = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let constants = try #require(log["constants"] as? [String: Any])
    let types = try #require(constants["logEventTypes"] as? [String: Int])
    let startJob = try #require(types["URL_REQUEST_START_JOB"])
    let events = try #require(log["events"] as? [[String: Any]])
    return events.compactMap { event in
      // The job's begin event carries its URL and initiator; its end event neither.
      guard event["type"] as? Int == startJob, let params = event["params"] as? [String: Any],
        let url = params["url"] as? String
      else { return nil }
      return params["initiator"] as? String == "not an origin" ? nil : url
    }
  }
}
