#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Where commands write: stdout carries only the requested data; diagnostics, progress
/// and summaries go to stderr. Tests swap it for a capturing console with
/// `Console.$current.withValue(...)`.
public final class Console: @unchecked Sendable {
  /// The console of the running task (the real streams by default).
  @TaskLocal public static var current = Console()

  private let writeOut: @Sendable (String) -> Void
  private let writeErr: @Sendable (String) -> Void
  /// Whether stderr is a terminal (progress is shown only then).
  public let isInteractive: Bool

  /// The process's stdout and stderr.
  public init() {
    writeOut = { Console.write($0, to: 1) }
    writeErr = { Console.write($0, to: 2) }
    isInteractive = isatty(2) == 1 && (getenv("TERM").map { String(cString: $0) } ?? "") != "dumb"
  }

  /// Writes all of `s` to a file descriptor, retrying short writes.
  private static func write(_ s: String, to fd: Int32) {
    var bytes = Array(s.utf8)
    var offset = 0
    while offset < bytes.count {
      let n = bytes.withUnsafeMutableBytes { systemWrite(fd, $0.baseAddress! + offset, $0.count - offset) }
      if n <= 0 { return }
      offset += n
    }
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

#if canImport(Glibc)
  private let systemWrite = Glibc.write
#elseif canImport(Darwin)
  private let systemWrite = Darwin.write
#endif
