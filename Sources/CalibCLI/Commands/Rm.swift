import ArgumentParser
import CalibStore

extension CalibCommand {
  /// `calib rm STORE RUN...`: deletes runs.
  struct Rm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Delete runs (with their states, parameters and, for recordings, samples).",
      discussion: """
        A recording whose samples replayed runs still use is refused until those runs are \
        deleted. Failed and stale runs (in progress, but their command was killed) are \
        deleted the same way. A run still being written by a running calib is refused \
        unless --force: its writer then stops at its next transaction with an error, and \
        nothing it writes lands in another run.

        Example:
          % calib rm calib.sqlite minilm-w8a8-mse
        """)

    @Argument(help: .store)
    var store: String

    @Argument(help: "The runs to delete.")
    var runs: [String]

    @Flag(help: "Also delete runs that a running calib is still writing (that command then stops).")
    var force = false

    @OptionGroup var output: OutputOptions

    func run() async throws {
      let s = try CalibrationStore(path: store, mustExist: true)
      for name in runs {
        try s.deleteRun(named: name, force: force)
        Console.current.line("Deleted run \(name)")
      }
    }
  }
}
