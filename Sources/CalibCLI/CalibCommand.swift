import ArgumentParser
#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import CalibStore

/// The `calib` command: record calibration sessions into SQLite, replay observers with
/// other settings, and compare the results.
public struct CalibCommand: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "calib",
    abstract: "Record, replay and compare LLM quantization calibration.",
    version: CalibVersion.current,
    subcommands: [
      Record.self, Replay.self, Runs.self, Show.self, Diff.self, Rank.self, Report.self, Export.self, ImportQParams.self,
      Check.self, Rm.self, Gc.self,
    ])

  public init() {}
}

extension CalibCommand {
  /// Parses `arguments` (without the program's name), runs the command and returns the
  /// process's exit code: what `calib` does, with its output on ``Console/current``.
  ///
  /// As ArgumentParser's own `main`, except that an error's message is kept to one line:
  /// a message quoting a path or a module name with a newline in it shows the newline
  /// escaped (`\n`), so a script reading stderr line by line sees one error as one line.
  /// Usage text that ArgumentParser appends to a parse error keeps its lines. Help and
  /// `--version` go to stdout with exit code 0.
  public static func execute(_ arguments: [String]) async -> Int32 {
    let console = Console.current
    var code = ExitCode.success.rawValue
    do {
      var command = try parseAsRoot(arguments)
      if var asyncCommand = command as? AsyncParsableCommand {
        try await asyncCommand.run()
      } else {
        try command.run()
      }
    } catch is OutputError {
      // Reported below, as a failure the command did not see.
    } catch {
      code = exitCode(for: error).rawValue
      var text = fullMessage(for: error)
      if code == ExitCode.success.rawValue {
        if !text.isEmpty { console.out(text + "\n") }
      } else {
        let message = message(for: error)
        if !message.isEmpty, let range = text.range(of: message) {
          text.replaceSubrange(range, with: OneLine.escaped(message))
        }
        if !text.isEmpty { console.err(text + "\n") }
      }
    }
    switch console.outputError {
    case 0: return code
    case EPIPE:
      // The reader went away (where SIGPIPE is ignored): stop quietly, with the status the
      // signal would have given.
      return 128 + SIGPIPE
    case let failure:
      console.line("Error: \(OutputError(errorNumber: failure))")
      return code == ExitCode.success.rawValue ? ExitCode.failure.rawValue : code
    }
  }
}
