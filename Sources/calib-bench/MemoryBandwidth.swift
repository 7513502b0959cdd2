import CalibBenchKernels
import CalibCore
import Dispatch
import Foundation

/// The machine's streaming-read bandwidth over an observer's own input (and, below, its
/// write bandwidth for the observer's scales): every byte once, front to back, split into
/// contiguous chunks over `threads` threads, with the widest loads the CPU has, folded by
/// XOR, and the observer kernels' own software prefetch (`calib_bench_stream_read`), so
/// that no arithmetic limits the loop and no observer kernel reads faster than it. The
/// threads are the observers' own (``WorkerPool``), so that the read starts its second
/// thread as fast as they do.
///
/// This is the ceiling for a memory-bound reduction such as min/max: an observer that
/// reads `n` bytes can at best take ``readOnce()``'s time for them. Benchmarks report an
/// observer's `fraction_of_bandwidth` as this time over the observer's time. Reading the
/// input itself, run by run between the observer's runs, puts both under the same cache
/// state: a separate buffer of the same size, read ten times in a row, stays in a 32 MiB
/// L3 cache that the observer's own input and outputs share, and so measured the cache.
///
/// An observer also writes its scales. Where they are large (NVFP4's: a float32 scale per
/// sixteen values), writing them costs a share of the read that no implementation avoids,
/// and memory often writes at a fraction of its read speed: ``readOnce(writing:)`` can
/// follow the read with streaming stores of that many bytes, so that a benchmark can
/// report the fraction of the read that reading once and writing once would reach.
final class MemoryBandwidth {
  let threads: Int
  private let words: UnsafeBufferPointer<UInt64>
  /// At least one word, of which the first `outputWords` are written.
  private let output: UnsafeMutableBufferPointer<UInt64>
  private let outputWords: Int

  /// A read of `bytes` (whole 8-byte words; a shorter tail is not read), which must stay
  /// valid while this is used, and a write of `outputBytes` (rounded up to whole words)
  /// to a buffer of its own.
  init(reading bytes: UnsafeRawBufferPointer, writing outputBytes: Int = 0, threads: Int) {
    self.threads = max(1, threads)
    let count = bytes.count / 8
    words = count == 0 ? UnsafeBufferPointer(start: nil, count: 0)
      : UnsafeBufferPointer(start: bytes.baseAddress!.assumingMemoryBound(to: UInt64.self), count: count)
    outputWords = (max(0, outputBytes) + 7) / 8
    output = .allocate(capacity: max(1, outputWords))
    // Touch every page once, so that no write pays for its first fault.
    output.initialize(repeating: 0)
  }

  deinit { output.deallocate() }

  /// The word the write stores: two float32 1.0s, as nonzero as real scales. Lines of
  /// zeros are no measure of them: on the Zen 4 machine of 2026-12-05, two threads
  /// streamed 4 MiB of zeros in 25 µs and 4 MiB of any other constant, or of varied
  /// floats, in 74 µs. Until then thread 0 wrote zeros, and `traffic_ceiling` came out
  /// high by the difference.
  static let outputWord: UInt64 = 0x3F80_0000_3F80_0000

  /// Time of one full streaming read, in seconds; with `writing`, each thread then writes
  /// its share of the output bytes, in the same dispatch (so that the time differs from
  /// the read's by the writes alone, not by a second dispatch).
  func readOnce(writing: Bool = false) -> Double {
    guard let first = words.baseAddress else { return 0 }
    let start = DispatchTime.now().uptimeNanoseconds
    let base = UnsafeSendable(UnsafeMutablePointer(mutating: first))
    let (count, outputCount, threads) = (words.count, outputWords, self.threads)
    // Non-nil: the capacity is at least 1.
    let target = UnsafeSendable(output.baseAddress!)
    let folded = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: threads)
    defer { folded.deallocate() }
    let out = UnsafeSendable(folded.baseAddress!)
    WorkerPool.shared.run(threads) { t in
      let lo = count * t / threads
      let hi = count * (t + 1) / threads
      out.pointer[t] = calib_bench_stream_read(base.pointer + lo, hi - lo)
      if writing {
        let first = outputCount * t / threads
        calib_bench_stream_write(target.pointer + first, outputCount * (t + 1) / threads - first, Self.outputWord)
      }
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    // Keep the result observable so the reads cannot be optimized away.
    if folded.reduce(0, ^) == 0x5EED { print("", terminator: "") }
    return seconds
  }
}

/// A pointer handed to parallel workers, which read or write disjoint parts.
struct UnsafeSendable<T>: @unchecked Sendable {
  let pointer: UnsafeMutablePointer<T>
  init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}
