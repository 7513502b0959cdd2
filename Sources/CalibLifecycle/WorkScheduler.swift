import Dispatch
import Synchronization

/// Runs independent pieces of work: in order on the calling thread, or on a bounded
/// number of workers.
public protocol WorkScheduler: Sendable {
  /// Runs `body(i)` for every `i` in `0..<count`; rethrows the first error.
  func forEach(_ count: Int, _ body: @Sendable (Int) throws -> Void) throws
}

/// Runs the work in index order on the calling thread.
public struct SerialWork: WorkScheduler {
  public init() {}

  public func forEach(_ count: Int, _ body: @Sendable (Int) throws -> Void) throws {
    for i in 0..<count { try body(i) }
  }
}

/// Runs the work on up to `threads` workers, each taking the next index when it is free;
/// after the first error the remaining indices are skipped.
///
/// The workers are `concurrentPerform` iterations, so when ``forEach(_:_:)`` returns
/// nothing else holds `body` or what it captured: a store captured by `body` is released
/// by the caller, not later by a worker thread (a late release would close its database
/// while the caller's next command opens it).
public struct ParallelWork: WorkScheduler {
  public let threads: Int

  public init(threads: Int) {
    self.threads = max(1, threads)
  }

  public func forEach(_ count: Int, _ body: @Sendable (Int) throws -> Void) throws {
    let workers = min(threads, count)
    if workers <= 1 { return try SerialWork().forEach(count, body) }
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
