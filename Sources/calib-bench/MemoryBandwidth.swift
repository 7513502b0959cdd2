import Dispatch
import Foundation

/// The machine's streaming-read bandwidth for a buffer of a given size, measured the way
/// an observer reads its input: every byte once, front to back, split into contiguous
/// chunks over `threads` threads, with 256-bit wide loads folded by XOR so that no
/// arithmetic limits the loop.
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
    typealias V = SIMD4<UInt64>
    var a = V(repeating: 0), b = V(repeating: 0), c = V(repeating: 0), d = V(repeating: 0)
    var i = 0
    let raw = UnsafeRawPointer(p)
    while i + 16 <= n {
      a ^= raw.loadUnaligned(fromByteOffset: i * 8, as: V.self)
      b ^= raw.loadUnaligned(fromByteOffset: (i + 4) * 8, as: V.self)
      c ^= raw.loadUnaligned(fromByteOffset: (i + 8) * 8, as: V.self)
      d ^= raw.loadUnaligned(fromByteOffset: (i + 12) * 8, as: V.self)
      i += 16
    }
    var tail: UInt64 = 0
    while i < n {
      tail ^= p[i]
      i += 1
    }
    let v = a ^ b ^ c ^ d
    return v[0] ^ v[1] ^ v[2] ^ v[3] ^ tail
  }
}

/// A pointer handed to `concurrentPerform` workers, which read or write disjoint parts.
struct UnsafeSendable<T>: @unchecked Sendable {
  let pointer: UnsafeMutablePointer<T>
  init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}
