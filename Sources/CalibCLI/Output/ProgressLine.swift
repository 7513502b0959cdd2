import Foundation

/// A throttled single-line progress counter on stderr, shown only when stderr is a
/// terminal and `--quiet` is not given.
final class ProgressLine: @unchecked Sendable {
  private let console: Console
  private let enabled: Bool
  private let lock = NSLock()
  private var last = Date.distantPast
  private var shown = false

  init(console: Console, quiet: Bool) {
    self.console = console
    enabled = console.isInteractive && !quiet
  }

  /// Redraws the line at most ten times a second.
  func update(_ text: @autoclosure () -> String) {
    guard enabled else { return }
    lock.lock()
    defer { lock.unlock() }
    let now = Date()
    guard now.timeIntervalSince(last) > 0.1 else { return }
    last = now
    shown = true
    console.err("\r\u{1B}[K" + text())
  }

  /// Clears the line before the summary.
  func finish() {
    lock.lock()
    defer { lock.unlock() }
    if shown { console.err("\r\u{1B}[K") }
  }
}

/// `12.3 MB/s` from bytes and seconds.
func throughput(_ bytes: Int64, _ seconds: Double) -> String {
  ByteCount.format(Int64(Double(bytes) / max(seconds, 1e-9))) + "/s"
}
