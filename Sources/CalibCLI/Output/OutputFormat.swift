import ArgumentParser

/// How results are printed: an aligned table (default), JSON, or CSV.
public enum OutputFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
  case table, json, csv
}

/// The `--format` option shared by every command.
public struct OutputOptions: ParsableArguments {
  @Option(name: .long, help: "Output format: table, json or csv.")
  public var format: OutputFormat = .table

  public init() {}
}
