#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import CalibProcess
import Synchronization

/// Where commands write: stdout carries only the requested data; diagnostics, progress
/// and summaries go to stderr. Tests swap it for a capturing console with
/// `Console.$current.withValue(...)`.
public final class Console: @unchecked Sendable {
  /// The console of the running task (the real streams by default).
  @TaskLocal public static var current = Console()

  private let writeOut: @Sendable (String) -> Void
  private let writeErr: @Sendable (String) -> Void
  private let outFailure = OutputFailure()
  /// Whether stderr is a terminal (progress is shown only then).
  public let isInteractive: Bool

  /// The process's stdout and stderr.
  public init() {
    let failure = outFailure
    // A stdout the parent closed is /dev/null now (CalibProcess); writing to it fails as a
    // write to a closed descriptor would, and a command that writes nothing there is fine.
    failure.closed = calib_closed_standard_descriptors() & 2 != 0
    writeOut = { s in
      guard failure.errorNumber == 0, !s.isEmpty else { return }
      let error = failure.closed ? EBADF : Console.write(s, to: 1)
      if error != 0 { failure.errorNumber = error }
    }
    writeErr = { _ = Console.write($0, to: 2) }
    isInteractive = isatty(2) == 1 && (getenv("TERM").map { String(cString: $0) } ?? "") != "dumb"
  }

  /// The `errno` of the first write to stdout that failed (a full disk, a closed
  /// descriptor, a reader that went away), or 0. After it, stdout is not written again, and
  /// ``CalibCommand/execute(_:)`` fails the command: its output is incomplete.
  public var outputError: Int32 { outFailure.errorNumber }

  /// Throws ``OutputError`` if a write to stdout failed: a command calls it before it
  /// reports on stderr what it wrote, so that it never claims output that was lost.
  public func checkOutput() throws {
    let error = outputError
    if error != 0 { throw OutputError(errorNumber: error) }
  }

  /// Writes all of `s` to a file descriptor, retrying short and interrupted writes;
  /// returns 0, or the `errno` of the write that failed.
  private static func write(_ s: String, to fd: Int32) -> Int32 {
    var bytes = Array(s.utf8)
    var offset = 0
    while offset < bytes.count {
      let n = bytes.withUnsafeMutableBytes { systemWrite(fd, $0.baseAddress! + offset, $0.count - offset) }
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { return n < 0 ? errno : EIO }
      offset += n
    }
    return 0
  }

  /// A console writing to the given closures.
  public init(out: @escaping @Sendable (String) -> Void, err: @escaping @Sendable (String) -> Void, interactive: Bool = false) {
    writeOut = out
    writeErr = err
    isInteractive = interactive
  }

  /// Writes data to stdout.
  public func out(_ s: String) { writeOut(s) }

  /// Writes text to stderr as it is (a progress line's redraws, an error with its usage).
  public func err(_ s: String) { writeErr(s) }

  /// Writes one diagnostic line to stderr, with a newline. Control characters and line
  /// separators in `text` are shown escaped (``OneLine/escaped(_:)``), so that a path or a
  /// module name quoted in it cannot split it: a script reading stderr line by line sees
  /// one message as one line.
  public func line(_ text: String) { writeErr(OneLine.escaped(text) + "\n") }
}

/// A write to stdout failed, so the command's output is incomplete.
public struct OutputError: Error, CustomStringConvertible {
  /// The failed write's `errno`: `ENOSPC` for a full disk, `EBADF` for a closed stdout,
  /// `EPIPE` for a reader that went away (only seen where SIGPIPE is ignored).
  public let errorNumber: Int32

  public var description: String {
    let what = "cannot write to standard output (\(String(cString: strerror(errorNumber))))"
    switch errorNumber {
    case EBADF: return what + ": it is closed; redirect it to a file (or to /dev/null to discard the output)"
    case ENOSPC, EDQUOT: return what + ": the output is incomplete; free space on that disk or redirect it to another"
    default: return what + ": the output is incomplete"
    }
  }
}

/// The first failed write's `errno`, shared by a console and its stdout closure.
private final class OutputFailure: Sendable {
  private let value = Mutex<Int32>(0)
  private let wasClosed = Atomic<Bool>(false)
  /// Whether the process started with stdout closed.
  var closed: Bool {
    get { wasClosed.load(ordering: .relaxed) }
    set { wasClosed.store(newValue, ordering: .relaxed) }
  }
  /// Set once: later failures keep the first.
  var errorNumber: Int32 {
    get { value.withLock { $0 } }
    set { value.withLock { if $0 == 0 { $0 = newValue } } }
  }
}

#if canImport(Glibc)
  private let systemWrite = Glibc.write
#elseif canImport(Darwin)
  private let systemWrite = Darwin.write
#endif
