import Dispatch
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Fork-join helpers for the observers' hot loops.
///
/// Determinism: callers split their work into items that depend only on the input (never
/// on the thread count) and write each item's result to its own slot, so every result is
/// the same whether the items run on one thread or many.
enum ForkJoin {
  /// The workers of ``forEach(_:parallel:_:)``: one per online processor.
  static let workers = Swift.max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

  /// Runs `body(0..<iterations)` on the shared pool (``WorkerPool``), or inline when
  /// there is one item or `parallel` is false.
  ///
  /// Each worker owns a contiguous share of the items and runs it in order, then takes
  /// what is left of the others' from their ends (``ItemShares``). Items are mostly
  /// consecutive slices of one tensor, and a core streaming one contiguous half reads
  /// faster than two interleaving slice by slice: a run-of-128 range kernel on 32 MiB
  /// of bf16 took 0.99-1.10 of a two-thread read in halves against 1.13-1.52 with
  /// interleaved slices (alternating round by round, 2026-12-05).
  static func forEach(_ iterations: Int, parallel: Bool = true, _ body: @Sendable (Int) -> Void) {
    if iterations <= 0 { return }
    let workers = Swift.min(iterations, Self.workers)
    if workers == 1 || !parallel {
      for i in 0..<iterations { body(i) }
      return
    }
    let shares = Mutex(ItemShares(items: iterations, workers: workers))
    WorkerPool.shared.run(workers) { worker in
      while let item = shares.withLock({ $0.next(for: worker) }) { body(item) }
    }
  }
}

/// The items `0..<items` in `workers` contiguous shares, each handed out from its front
/// to its own worker and from its back to others: a worker that finishes its share
/// takes the last item of the largest one left, so a core slowed by other work does not
/// hold up the call, and every item is handed out exactly once.
struct ItemShares {
  private var fronts: [Int]
  private var backs: [Int]

  init(items: Int, workers: Int) {
    fronts = (0..<workers).map { items * $0 / workers }
    backs = (0..<workers).map { items * ($0 + 1) / workers }
  }

  /// The next item for `worker`, or `nil` when none is left.
  mutating func next(for worker: Int) -> Int? {
    if fronts[worker] < backs[worker] {
      fronts[worker] += 1
      return fronts[worker] - 1
    }
    let left = fronts.indices.map { backs[$0] - fronts[$0] }
    guard let largest = left.indices.max(by: { left[$0] < left[$1] }), left[largest] > 0 else { return nil }
    backs[largest] -= 1
    return backs[largest]
  }
}

/// A raw pointer handed to parallel work items.
///
/// Invariant: the pointee outlives the fork-join call that uses it (the pointer comes from
/// a `withUnsafe…BufferPointer` scope enclosing that call), and concurrent items only
/// read through it or write disjoint indices.
struct SharedPointer<Pointee>: @unchecked Sendable {
  let base: UnsafeMutablePointer<Pointee>

  init(_ base: UnsafeMutablePointer<Pointee>) { self.base = base }
  init(_ base: UnsafePointer<Pointee>) { self.base = UnsafeMutablePointer(mutating: base) }

  @inline(__always) var readOnly: UnsafePointer<Pointee> { UnsafePointer(base) }

  @inline(__always) subscript(i: Int) -> Pointee {
    get { base[i] }
    nonmutating set { base[i] = newValue }
  }
}
