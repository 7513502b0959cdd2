import ArgumentParser
import CalibStore

extension CalibCommand {
  /// `calib rm STORE RUN...`: deletes runs.
  struct Rm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Delete runs (with their states, parameters and, for recordings, samples).",
      discussion: """
        A recording whose samples replayed runs still use is refused until those runs are \
        deleted. Interrupted or failed runs are deleted the same way.

        Example:
          % calib rm calib.sqlite minilm-w8a8-mse
        """)

    @Argument(help: .store)
    var store: String

    @Argument(help: "The runs to delete.")
    var runs: [String]

    @OptionGroup var output: OutputOptions

    func run() async throws {
      let s = try CalibrationStore(path: store)
      for name in runs {
        try s.deleteRun(named: name)
        Console.current.err("Deleted run \(name)\n")
      }
    }
  }
}
