import Synchronization
import Testing

@testable import CalibCore

/// ``Observer/runsInParallel`` changes only where the work runs, never a result.
@Suite struct ObserverThreadingTests {
  @Test(arguments: [FloatDType.float32, .bfloat16])
  func serialAndParallelObservationsAgree(_ dtype: FloatDType) throws {
    var generator = SystemRandomNumberGenerator()
    let values = (0..<(1 << 16)).map { _ in dtype.rounded(Float.random(in: -3...3, using: &generator)) }
    let x = Tensor(shape: [128, 512], values: values, dtype: dtype)
    for (kind, args) in [
      (ObserverKind.memorylessMinMax, try QuantizationArgs(numBits: 8, strategy: .tensor)),
      (.memorylessMSE, try QuantizationArgs(numBits: 4, groupSize: 128, strategy: .group)),
      (.memorylessMSE, try QuantizationArgs(numBits: 8, strategy: .tensor)),
    ] {
      var parallel = try Observer(kind: kind, baseName: .weight, args: args)
      var serial = parallel
      serial.runsInParallel = false
      let a = try parallel.observe(x)
      let b = try serial.observe(x)
      #expect(a == b, "\(kind) \(args.strategy)")
    }
  }

  /// Workers asking in any order get every item exactly once; each worker's own share
  /// comes in order from its front, and what it takes from others' shares from their
  /// backs, the largest share first.
  @Test(arguments: [(1, 1), (7, 2), (10, 3), (64, 2), (5, 8)])
  func sharesHandOutEveryItemOnce(items: Int, workers: Int) {
    var generator = HistogramCountingTests.SplitMix(state: UInt64(items * 31 + workers))
    let workers = min(workers, items)
    var shares = ItemShares(items: items, workers: workers)
    var taken: [[Int]] = Array(repeating: [], count: workers)
    var active = Array(0..<workers)
    while let worker = active.randomElement(using: &generator) {
      guard let item = shares.next(for: worker) else {
        active.removeAll { $0 == worker }
        continue
      }
      taken[worker].append(item)
    }
    #expect(taken.flatMap { $0 }.sorted() == Array(0..<items))
    for worker in 0..<workers {
      let share = (items * worker / workers)..<(items * (worker + 1) / workers)
      let own = taken[worker].filter(share.contains)
      #expect(own == Array(share.prefix(own.count)), "worker \(worker): \(taken[worker])")
    }
    // A worker alone takes its share, then the others' from their backs, the largest
    // first (the first of equals).
    var alone = ItemShares(items: 10, workers: 3)
    #expect((0..<10).compactMap { _ in alone.next(for: 1) } == [3, 4, 5, 9, 2, 8, 1, 7, 0, 6])
    #expect(alone.next(for: 0) == nil)
  }

  /// `ForkJoin.forEach` runs every item exactly once, in parallel or not.
  @Test(arguments: [0, 1, 2, 3, 64, 1000], [true, false])
  func forkJoinRunsEveryItemOnce(items: Int, parallel: Bool) {
    let runs = Mutex([Int](repeating: 0, count: items))
    ForkJoin.forEach(items, parallel: parallel) { item in runs.withLock { $0[item] += 1 } }
    #expect(runs.withLock { $0 } == [Int](repeating: 1, count: items))
  }
}
