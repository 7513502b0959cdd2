import Foundation

/// Which process writes an in-progress run: `<host>:<pid>:<start>`, where `<start>` is
/// the process's start time (field 22 of `/proc/<pid>/stat`), so a recycled pid is told
/// apart from the writer.
///
/// A run whose owner is on this host and no longer running is *stale*: its command was
/// killed. On another host, liveness cannot be told, and the run counts as running.
enum RunOwner {
  /// This process.
  static let current: String = "\(host):\(getpid()):\(startTime(of: getpid()) ?? "?")"

  private static var host: String { ProcessInfo.processInfo.hostName }

  /// The start time of a process, or `nil` when it does not exist.
  private static func startTime(of pid: Int32) -> String? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")")
    else { return nil }
    // Fields after the command name, which may hold spaces, start at field 3.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    return fields.count > 19 ? String(fields[19]) : nil
  }

  /// Whether the owner of a run is known to be gone.
  static func isGone(_ owner: String?) -> Bool {
    guard let owner else { return false }
    let parts = owner.split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count == 3, String(parts[0]) == host, let pid = Int32(parts[1]) else { return false }
    return startTime(of: pid) != String(parts[2])
  }
}
