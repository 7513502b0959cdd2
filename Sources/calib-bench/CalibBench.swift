import ArgumentParser

@main
struct CalibBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "calib-bench", abstract: "Benchmarks for CalibStore (release builds).")
}
