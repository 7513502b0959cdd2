import ArgumentParser
import Foundation

/// A child process run to completion with its output discarded (the last line of its
/// standard error is kept for the failure message): wall time and the peak
/// resident set size the kernel reports for it (`wait4`'s `ru_maxrss`).
struct ChildProcess {
  let seconds: Double
  let peakRSSMegabytes: Double

  /// The `calib` to time: `given` (a `--calib` option), or the one beside this benchmark.
  static func calibExecutable(_ given: String?) throws -> String {
    let path = given ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("calib").path
    guard FileManager.default.isExecutableFile(atPath: path) else {
      throw ValidationError("no calib executable at \(path); build it (swift build -c release) or pass --calib")
    }
    return path
  }

  static func run(_ executable: String, _ arguments: [String]) throws -> ChildProcess {
    var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    let errors = FileManager.default.temporaryDirectory.appendingPathComponent("calib-scale-stderr-\(getpid())").path
    defer { try? FileManager.default.removeItem(atPath: errors) }
    posix_spawn_file_actions_addopen(&actions, 2, errors, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    let start = DispatchTime.now().uptimeNanoseconds
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
    guard spawned == 0 else { throw CleanExit.message("cannot start \(executable): errno \(spawned)") }
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 {
      guard errno == EINTR else { throw CleanExit.message("cannot wait for \(executable)") }
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    // Exited normally with status 0: the low 7 bits are the signal, the next 8 the status.
    guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
      let message = (try? String(contentsOfFile: errors, encoding: .utf8))?.split(separator: "\n").last.map(String.init) ?? ""
      throw CleanExit.message("calib \(arguments.prefix(1).joined()) failed (wait status \(status)): \(message)")
    }
    return ChildProcess(seconds: seconds, peakRSSMegabytes: Double(usage.ru_maxrss) / 1024)
  }
}
