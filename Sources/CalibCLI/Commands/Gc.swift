import ArgumentParser
import CalibStore

extension CalibCommand {
  /// `calib gc STORE`: gives back payload space no run references.
  struct Gc: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Give back payload space that no run references.",
      discussion: """
        Cuts the payload file (<store>-samples) after the last payload a run references, \
        and punches holes in the gaps between referenced payloads: what a killed \
        recording, or an 'rm' while a replay, diff or rank was reading, leaves behind. \
        Space is not given back while such a reader is open; run it again when they are \
        done. 'calib rm' and 'calib record --replace' do the same after removing runs.

        Example:
          % calib gc calib.sqlite
        """)

    @Argument(help: .store)
    var store: String

    func run() async throws {
      let s = try CalibrationStore(path: store, mustExist: true)
      guard let freed = try s.givePayloadSpaceBack() else {
        Console.current.line("\(store): a reader is open on its payload file; nothing was given back: run 'calib gc' again when it is done")
        throw ExitCode.failure
      }
      Console.current.line("\(store): gave back \(ByteCount.format(freed))")
    }
  }
}
