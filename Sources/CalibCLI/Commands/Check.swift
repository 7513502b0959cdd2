import ArgumentParser
import CalibStore

extension CalibCommand {
  /// `calib check STORE`: integrity of SQLite and of every sample.
  struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Check SQLite integrity and every sample's checksum.",
      discussion: """
        Prints one line per problem and exits 1 when there is any. Bytes at the end of the \
        payload file that no run references (a killed recording, or a removal while a \
        reader was open) are reported on stderr, not as a problem: 'calib gc' gives them \
        back.

        Example:
          % calib check calib.sqlite
        """)

    @Argument(help: .store)
    var store: String

    @OptionGroup var output: OutputOptions

    func run() async throws {
      let s = try CalibrationStore(path: store, readOnly: true)
      let problems = try s.check()
      let tail = try s.unreferencedTailBytes()
      let console = Console.current
      if tail > 0 {
        console.line("\(store): \(ByteCount.format(tail)) at the end of its payload file belong to no run: 'calib gc \(store)' gives them back")
      }
      switch output.format {
      case .json:
        console.out(JSONValue.object([("ok", .bool(problems.isEmpty)), ("problems", .array(problems.map { .string($0) }))]).render(indent: 2) + "\n")
      case .table, .csv:
        var table = TextTable(headers: ["problem"])
        table.rows = problems.map { [$0] }
        if !problems.isEmpty || output.format == .csv { console.out(table.render(output.format)) }
      }
      console.line(problems.isEmpty ? "\(store): ok" : "\(store): \(problems.count) problem(s)")
      if !problems.isEmpty { throw ExitCode.failure }
    }
  }
}
