import CalibBenchKernels
import Dispatch
import Foundation

/// The machine's streaming-read bandwidth for a buffer of a given size, measured the way
/// an observer reads its input: every byte once, front to back, split into contiguous
/// chunks over `threads` threads, with the widest loads the CPU has, folded by XOR, and
/// the observer kernels' own software prefetch (`calib_bench_stream_read`), so that no
/// arithmetic limits the loop and no observer kernel reads faster than it.
///
/// This is the ceiling for a memory-bound reduction such as min/max: an observer that
/// reads `n` bytes can at best take ``seconds`` for them. Benchmarks report an observer's
/// `fraction_of_bandwidth` as this time over the observer's time, on a buffer of the same
/// byte count (the input's bytes in its own dtype: two per bf16 element).
struct MemoryBandwidth {
  let byteCount: Int
  let threads: Int
  private let words: UnsafeMutableBufferPointer<UInt64>

  init(byteCount: Int, threads: Int) {
    self.byteCount = byteCount
    self.threads = max(1, threads)
    words = .allocate(capacity: max(1, (byteCount + 7) / 8))
    // Written once so every page is resident before timing.
    for i in words.indices { words[i] = UInt64(truncatingIfNeeded: i) &* 0x9E37_79B9_7F4A_7C15 }
  }

  func deallocate() { words.deallocate() }

  /// Time of one full streaming read, in seconds.
  func readOnce() -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    let base = UnsafeSendable(words.baseAddress!)
    let count = words.count
    let threads = self.threads
    let folded = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: threads)
    defer { folded.deallocate() }
    let out = UnsafeSendable(folded.baseAddress!)
    DispatchQueue.concurrentPerform(iterations: threads) { t in
      let lo = count * t / threads
      let hi = count * (t + 1) / threads
      out.pointer[t] = Self.fold(base.pointer + lo, hi - lo)
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    // Keep the result observable so the reads cannot be optimized away.
    if folded.reduce(0, ^) == 0x5EED { print("", terminator: "") }
    return seconds
  }

  private static func fold(_ p: UnsafeMutablePointer<UInt64>, _ n: Int) -> UInt64 {
    calib_bench_stream_read(p, n)
  }
}

/// A pointer handed to `concurrentPerform` workers, which read or write disjoint parts.
struct UnsafeSendable<T>: @unchecked Sendable {
  let pointer: UnsafeMutablePointer<T>
  init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}
