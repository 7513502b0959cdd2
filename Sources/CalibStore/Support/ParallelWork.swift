import Foundation
import Synchronization

/// Runs `body(i)` for `i` in `0..<count` on `threads` worker threads, each taking the next
/// index when it is free. Rethrows the first error (remaining indices are skipped).
enum ParallelWork {
  static func run(count: Int, threads: Int, _ body: @escaping @Sendable (Int) throws -> Void) throws {
    if count == 0 { return }
    let workers = max(1, min(threads, count))
    if workers == 1 {
      for i in 0..<count { try body(i) }
      return
    }
    let next = Mutex(0)
    let failure = Mutex<(any Error)?>(nil)
    let group = DispatchGroup()
    for _ in 0..<workers {
      group.enter()
      Thread.detachNewThread {
        defer { group.leave() }
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
    }
    group.wait()
    if let error = failure.withLock({ $0 }) { throw error }
  }
}
