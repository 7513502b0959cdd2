import Dispatch
import Synchronization

/// Runs `body(i)` for `i` in `0..<count` on up to `threads` workers, each taking the next
/// index when it is free. Rethrows the first error (remaining indices are skipped).
///
/// The workers are `concurrentPerform` iterations, so when this returns nothing else
/// holds `body` or what it captured: a store captured by `body` is released by the
/// caller, not later by a worker thread (a late release would close its database while
/// the caller's next command opens it).
enum ParallelWork {
  static func run(count: Int, threads: Int, _ body: @Sendable (Int) throws -> Void) throws {
    if count == 0 { return }
    let workers = max(1, min(threads, count))
    if workers == 1 {
      for i in 0..<count { try body(i) }
      return
    }
    let next = Mutex(0)
    let failure = Mutex<(any Error)?>(nil)
    DispatchQueue.concurrentPerform(iterations: workers) { _ in
      while true {
        let i: Int? = next.withLock { n in
          guard n < count, failure.withLock({ $0 == nil }) else { return nil }
          n += 1
          return n - 1
        }
        guard let i else { return }
        do {
          try body(i)
        } catch {
          failure.withLock { if $0 == nil { $0 = error } }
        }
      }
    }
    if let error = failure.withLock({ $0 }) { throw error }
  }
}
