import CalibBenchKernels
import Dispatch
import Foundation

/// The machine's streaming-read bandwidth over an observer's own input: every byte once,
/// front to back, split into contiguous chunks over `threads` threads, with the widest
/// loads the CPU has, folded by XOR, and the observer kernels' own software prefetch
/// (`calib_bench_stream_read`), so that no arithmetic limits the loop and no observer
/// kernel reads faster than it.
///
/// This is the ceiling for a memory-bound reduction such as min/max: an observer that
/// reads `n` bytes can at best take ``readOnce()``'s time for them. Benchmarks report an
/// observer's `fraction_of_bandwidth` as this time over the observer's time. Reading the
/// input itself, run by run between the observer's runs, puts both under the same cache
/// state: a separate buffer of the same size, read ten times in a row, stays in a 32 MiB
/// L3 cache that the observer's own input and outputs share, and so measured the cache.
struct MemoryBandwidth {
  let threads: Int
  private let words: UnsafeBufferPointer<UInt64>

  /// A read of `bytes` (whole 8-byte words; a shorter tail is not read), which must stay
  /// valid while this is used.
  init(reading bytes: UnsafeRawBufferPointer, threads: Int) {
    self.threads = max(1, threads)
    let count = bytes.count / 8
    words = count == 0 ? UnsafeBufferPointer(start: nil, count: 0)
      : UnsafeBufferPointer(start: bytes.baseAddress!.assumingMemoryBound(to: UInt64.self), count: count)
  }

  /// Time of one full streaming read, in seconds.
  func readOnce() -> Double {
    guard let first = words.baseAddress else { return 0 }
    let start = DispatchTime.now().uptimeNanoseconds
    let base = UnsafeSendable(UnsafeMutablePointer(mutating: first))
    let count = words.count
    let threads = self.threads
    let folded = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: threads)
    defer { folded.deallocate() }
    let out = UnsafeSendable(folded.baseAddress!)
    DispatchQueue.concurrentPerform(iterations: threads) { t in
      let lo = count * t / threads
      let hi = count * (t + 1) / threads
      out.pointer[t] = calib_bench_stream_read(base.pointer + lo, hi - lo)
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    // Keep the result observable so the reads cannot be optimized away.
    if folded.reduce(0, ^) == 0x5EED { print("", terminator: "") }
    return seconds
  }
}

/// A pointer handed to `concurrentPerform` workers, which read or write disjoint parts.
struct UnsafeSendable<T>: @unchecked Sendable {
  let pointer: UnsafeMutablePointer<T>
  init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}
