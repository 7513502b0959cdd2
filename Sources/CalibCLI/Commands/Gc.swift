import ArgumentParser
import CalibStore

extension CalibCommand {
  /// `calib gc STORE`: gives back payload space no run references.
  struct Gc: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Give back payload space that no run references, and compact the payload file.",
      discussion: """
        Moves the payloads in the payload file (<store>-samples) down over the gaps that \
        removed recordings left between them (the old run of every 'record --replace', an \
        'rm' of a recording followed by others), then cuts the file after the last payload \
        a run references and punches holes in the gaps that remain (under 1 MiB, or before \
        a payload longer than the gap). 'calib rm' and 'calib record --replace' only cut \
        and punch: the file keeps its size, which tools that copy without keeping holes \
        count in full; 'calib gc' makes it the size of its payloads.

        Each chunk moved is copied into free space and synced before the rows point at it, \
        so a gc killed at any point leaves a whole store. Nothing is done while a replay, \
        diff, rank or check is reading; run it again when they are done. Other writers \
        wait while a chunk moves.

        Example:
          % calib gc calib.sqlite
        """)

    @Argument(help: .store)
    var store: String

    func run() async throws {
      let s = try CalibrationStore(path: store, mustExist: true)
      guard let done = try s.compactPayloads() else {
        Console.current.line("\(store): a reader (replay, diff, rank, check) or another gc is using its payload file; nothing was given back: run 'calib gc' again when it is done")
        throw ExitCode.failure
      }
      Console.current.line(
        "\(store): moved \(ByteCount.format(done.moved)) of payloads; the payload file is \(ByteCount.format(done.sizeAfter)) "
          + "(was \(ByteCount.format(done.sizeBefore))) and takes \(ByteCount.format(done.diskAfter)) of disk "
          + "(was \(ByteCount.format(done.diskBefore)))")
    }
  }
}
