import ArgumentParser
import CalibCore

/// Benchmarks for CalibStore; run the release build. Each subcommand prints one JSON line
/// per measurement.
@main
struct CalibBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "calib-bench", abstract: "Benchmarks for CalibStore (release builds; JSON lines).",
    subcommands: [
      ObserversBench.self, RecordBench.self, ReplayBench.self, ScaleBench.self, ReportBench.self, PeersBench.self,
    ])

  /// The allocator as `calib` configures it (``HeapReuse``), then the command.
  static func main() {
    HeapReuse.configure()
    main(nil)
  }
}
