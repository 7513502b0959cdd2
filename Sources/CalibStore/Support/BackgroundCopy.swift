import Dispatch
import Synchronization

/// A ``SampleSegment/copy(from:ranges:to:)`` running on another thread, so a step's
/// payloads are written while the recorder checksums, counts and observes the same
/// tensors. ``wait()`` before the transaction that references the payloads commits.
final class BackgroundCopy: Sendable {
  private let done = DispatchSemaphore(value: 0)
  private let failure = Mutex<(any Error)?>(nil)
  private let waited = Atomic<Bool>(false)

  /// A serial queue of its own: such queues get a thread even when every thread of the
  /// global pool is busy (or blocked waiting for this very copy, as a recorder running
  /// inside a Swift concurrency task would be).
  private static let queue = DispatchQueue(label: "CalibStore.BackgroundCopy", qos: .userInitiated)

  init(segment: SampleSegment, source: String, ranges: [Range<Int>], offset: Int64) {
    Self.queue.async { [self] in
      do {
        try segment.copy(from: source, ranges: ranges, to: offset)
      } catch {
        failure.withLock { $0 = error }
      }
      done.signal()
    }
  }

  /// Blocks until the copy has finished; rethrows its error. Later calls return at once.
  func wait() throws {
    if !waited.exchange(true, ordering: .acquiringAndReleasing) { done.wait() }
    if let error = failure.withLock({ $0 }) { throw error }
  }

  deinit {
    // Never leave a copy running past its owner (an error path that did not wait).
    if !waited.load(ordering: .acquiring) { done.wait() }
  }
}
