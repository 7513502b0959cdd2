import Dispatch
import Synchronization

/// Segment I/O running on another thread while the recorder goes on: a step's payload copy
/// (``SampleSegment/copy(from:ranges:to:)``) while the same tensors are checksummed and
/// observed, or an `fdatasync` of earlier steps while the next one is written.
/// ``wait()`` before the transaction that depends on it commits.
final class BackgroundWork: Sendable {
  private let done = DispatchSemaphore(value: 0)
  private let failure = Mutex<(any Error)?>(nil)
  private let waited = Atomic<Bool>(false)

  /// Copies run one after another on their own serial queue: such queues get a thread even
  /// when every thread of the global pool is busy (or blocked waiting for this very copy,
  /// as a recorder running inside a Swift concurrency task would be).
  static let copies = DispatchQueue(label: "CalibStore.BackgroundCopy", qos: .userInitiated)
  /// Synchronizations have a queue of their own, so a copy never waits behind one.
  static let synchronizations = DispatchQueue(label: "CalibStore.BackgroundSync", qos: .userInitiated)

  init(on queue: DispatchQueue, _ body: @escaping @Sendable () throws -> Void) {
    queue.async { [self] in
      do {
        try body()
      } catch {
        failure.withLock { $0 = error }
      }
      done.signal()
    }
  }

  /// Blocks until the work has finished; rethrows its error. Later calls return at once.
  func wait() throws {
    if !waited.exchange(true, ordering: .acquiringAndReleasing) { done.wait() }
    if let error = failure.withLock({ $0 }) { throw error }
  }

  deinit {
    // Never leave work running past its owner (an error path that did not wait).
    if !waited.load(ordering: .acquiring) { done.wait() }
  }
}
