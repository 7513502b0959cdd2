import ArgumentParser
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
