import ArgumentParser
import CalibStore

extension CalibCommand {
  /// `calib runs STORE`: one row per run.
  struct Runs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "List the runs in a store.",
      discussion: """
        One row per run: name, kind, parent, status, arithmetic, modules, completed steps, \
        sample bytes and creation time. A run in progress whose command was killed shows \
        as "in_progress (stale)": remove it with 'calib rm' (a replay of the same name \
        replaces it).

        Example:
          % calib runs calib.sqlite
        """)

    @Argument(help: .store)
    var store: String

    @OptionGroup var output: OutputOptions

    func run() async throws {
      let runs = try CalibrationStore(path: store, readOnly: true).runs()
      let console = Console.current
      switch output.format {
      case .json:
        console.out(JSONValue.array(runs.map { r in
          .object([
            ("name", .string(r.name)), ("kind", .string(r.kind.rawValue)),
            ("parent", r.parent.map { .string($0) } ?? .null), ("recording", r.recording.map { .string($0) } ?? .null),
            ("status", .string(r.status.rawValue)), ("stale", .bool(r.isStale)), ("arithmetic", .string(r.arithmetic.rawValue)),
            ("modules", .int(r.modules)), ("steps", .int(r.steps)),
            ("sample_bytes", .int(Int(r.sampleBytes))), ("created", .string(r.createdAt)),
            ("settings", r.settingsDiff.map { .string($0) } ?? .null), ("note", r.note.map { .string($0) } ?? .null),
          ])
        }).render(indent: 2) + "\n")
      case .table, .csv:
        var table = TextTable(headers: ["name", "kind", "parent", "status", "arithmetic", "modules", "steps", "sample_bytes", "created"])
        for r in runs {
          table.rows.append([
            r.name, r.kind.rawValue, r.parent ?? "-", r.status.rawValue + (r.isStale ? " (stale)" : ""), r.arithmetic.rawValue,
            String(r.modules), String(r.steps),
            output.format == .csv ? String(r.sampleBytes) : ByteCount.format(r.sampleBytes), r.createdAt,
          ])
        }
        console.out(table.render(output.format))
      }
    }
  }
}

/// Human byte counts: 1.2 MB, 3.4 GB (decimal units).
enum ByteCount {
  static func format(_ n: Int64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"]
    var value = Double(n)
    var unit = 0
    while value >= 1000 && unit < units.count - 1 {
      value /= 1000
      unit += 1
    }
    return unit == 0 ? "\(n) B" : String(format: "%.1f %@", value, units[unit])
  }
}
