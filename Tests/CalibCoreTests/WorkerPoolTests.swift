import Dispatch
import Synchronization
import Testing

@testable import CalibCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// ``WorkerPool`` runs every part of a call exactly once and returns only after all of
/// them have returned, whether its helpers are spinning, asleep, busy with another call
/// or too few.
@Suite struct WorkerPoolTests {
  /// The parts of one call, each run once, all finished when `run` returns (every part
  /// sleeps first, so a call that returned early would leave some unmarked).
  private static func runOnce(_ workers: Int, pause microseconds: UInt32 = 50) -> [Int] {
    let runs = Mutex([Int](repeating: 0, count: workers))
    WorkerPool.shared.run(workers) { w in
      usleep(microseconds)
      runs.withLock { $0[w] += 1 }
    }
    return runs.withLock { $0 }
  }

  @Test(arguments: [0, 1, 2, 3, 8])
  func everyPartRunsOnceBeforeTheCallReturns(workers: Int) {
    // 8 is past this machine's pool (`concurrentPerform` then) unless it has 8 cores.
    #expect(Self.runOnce(workers) == [Int](repeating: 1, count: workers))
  }

  /// Calls back to back find the helpers spinning; calls further apart than the spin
  /// find them asleep, and wake them (or run their parts without them).
  @Test func callsFindHelpersSpinningAndAsleep() {
    let workers = WorkerPool.shared.capacity
    for round in 0..<60 {
      if round % 2 == 1 { usleep(UInt32(WorkerPool.spinNanoseconds / 1000) * 2) }
      let pause: UInt32 = round % 3 == 0 ? 0 : 200
      #expect(Self.runOnce(workers, pause: pause) == [Int](repeating: 1, count: workers), "round \(round)")
    }
  }

  /// A call from inside a part, or from several threads at once, runs on
  /// `concurrentPerform` while the pool is busy, and every part of every call still runs
  /// once.
  @Test func nestedAndConcurrentCallsComplete() {
    let workers = max(2, WorkerPool.shared.capacity)
    let inner = Mutex([Int](repeating: 0, count: workers * workers))
    WorkerPool.shared.run(workers) { outer in
      WorkerPool.shared.run(workers) { w in inner.withLock { $0[outer * workers + w] += 1 } }
    }
    #expect(inner.withLock { $0 } == [Int](repeating: 1, count: workers * workers))

    let callers = 6
    let total = Mutex(0)
    DispatchQueue.concurrentPerform(iterations: callers) { _ in
      for _ in 0..<200 {
        let runs = Self.runOnce(workers, pause: 0)
        if runs == [Int](repeating: 1, count: workers) { total.withLock { $0 += 1 } }
      }
    }
    #expect(total.withLock { $0 } == callers * 200)
  }

  /// Nothing keeps the body, or what it captured, once the call returns.
  @Test func theBodyIsReleasedWhenTheCallReturns() {
    final class Captured: Sendable {}
    weak var weakly: Captured?
    do {
      let captured = Captured()
      weakly = captured
      WorkerPool.shared.run(WorkerPool.shared.capacity) { _ in withExtendedLifetime(captured) {} }
    }
    #expect(weakly == nil)
  }
}
