import CalibKernels
import Dispatch
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Threads that run one fork-join call at a time and, between calls, spin for a moment
/// before they sleep, so that the next call finds them awake.
///
/// A `concurrentPerform` worker sleeps as soon as its call ends, and waking it took 18-47
/// µs on the Zen 4 machine of 2026-12-05 (the median start of the second of two workers,
/// measured from the call, with 0-2 ms between calls). An observer call on a 32 MiB
/// weight takes 0.2-0.6 ms and often makes two fork-join calls, so the second core sat
/// idle for a tenth of it. torch's own threads (OpenMP) spin in the same way between
/// parallel regions.
///
/// The caller runs worker 0 itself. A call that finds the pool busy (nested in a worker,
/// or from a second thread at the same time) gets `concurrentPerform` instead, as do
/// calls for more workers than the pool has.
public final class WorkerPool: @unchecked Sendable {
  // Written by the caller before `generation` moves, and read by a helper after it has
  // claimed its slot in that call; cleared once every slot is done or withdrawn.
  private var job: (@Sendable (Int) -> Void)?

  private let generation = Atomic<Int>(0)
  private let busy = Atomic<Bool>(false)
  private let helpers: [Helper]

  /// How long a helper spins after a call before it sleeps.
  static let spinNanoseconds: UInt64 = 200_000
  /// How long of that it spins on its core alone; after that it yields the core between
  /// polls, so that another runnable thread (a reader, another worker) is not kept
  /// waiting by a helper that has nothing to do.
  static let busySpinNanoseconds: UInt64 = 20_000

  /// One pool per process, with a helper per online processor but the caller's.
  public static let shared = WorkerPool(helpers: ForkJoin.workers - 1)

  private init(helpers count: Int) {
    helpers = (0..<Swift.max(0, count)).map { Helper(index: $0) }
    for helper in helpers { start(helper) }
  }

  /// The largest worker count ``run(_:_:)`` takes without falling back.
  public var capacity: Int { helpers.count + 1 }

  /// Runs `body(w)` for every w in `0..<workers` and returns when all have returned;
  /// nothing holds `body` afterwards.
  ///
  /// Worker 0 runs on the caller's thread, and worker w on helper w - 1 if that helper
  /// claims it first. Once its own part is done, the caller withdraws every part not yet
  /// claimed and runs it itself: a helper still waking from sleep then delays nothing
  /// (``ForkJoin`` parts take items while any are left, so a late part finds none).
  public func run(_ workers: Int, _ body: @Sendable (Int) -> Void) {
    if workers <= 1 {
      if workers == 1 { body(0) }
      return
    }
    guard workers <= capacity, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    else {
      DispatchQueue.concurrentPerform(iterations: workers, execute: body)
      return
    }
    withoutActuallyEscaping(body) { body in
      job = body
      let call = generation.load(ordering: .relaxed) &+ 1
      let used = helpers.prefix(workers - 1)
      for helper in used { helper.slot.store(Slot.open(call), ordering: .relaxed) }
      generation.store(call, ordering: .sequentiallyConsistent)
      for helper in used where helper.state.exchange(Helper.running, ordering: .sequentiallyConsistent) == Helper.parked {
        helper.wake.signal()
      }
      body(0)
      for helper in used {
        let (withdrawn, _) = helper.slot.compareExchange(
          expected: Slot.open(call), desired: Slot.withdrawn(call), ordering: .acquiringAndReleasing)
        if withdrawn {
          body(helper.index + 1)
        } else {
          while helper.slot.load(ordering: .acquiring) != Slot.done(call) { calib_spin_pause() }
        }
      }
      job = nil
    }
    busy.store(false, ordering: .releasing)
  }

  /// A helper's part in call c, as one integer: open (nobody has it yet), claimed by the
  /// helper, done, or withdrawn by the caller. Tagged with c, so that a helper that wakes
  /// late for a call already finished cannot claim a part of the next one by mistake.
  private enum Slot {
    static func open(_ call: Int) -> Int { call &<< 2 }
    static func claimed(_ call: Int) -> Int { call &<< 2 | 1 }
    static func done(_ call: Int) -> Int { call &<< 2 | 2 }
    static func withdrawn(_ call: Int) -> Int { call &<< 2 | 3 }
  }

  /// A helper thread's part, its state, and the semaphore it sleeps on.
  private final class Helper: Sendable {
    static let running = 0
    static let parked = 1
    let index: Int
    let slot = Atomic<Int>(0)
    let state = Atomic<Int>(Helper.running)
    let wake = DispatchSemaphore(value: 0)

    init(index: Int) { self.index = index }
  }

  private func start(_ helper: Helper) {
    let context = Unmanaged.passRetained(HelperContext(pool: self, helper: helper)).toOpaque()
    var thread = pthread_t()
    let created = pthread_create(&thread, nil, { raw in
      // Non-nil: the context passed below.
      let context = Unmanaged<HelperContext>.fromOpaque(raw!).takeRetainedValue()
      context.pool.serve(context.helper)
    }, context)
    precondition(created == 0, "cannot start a worker thread (pthread_create: \(created))")
    pthread_detach(thread)
  }

  private final class HelperContext {
    let pool: WorkerPool
    let helper: Helper
    init(pool: WorkerPool, helper: Helper) { (self.pool, self.helper) = (pool, helper) }
  }

  /// A helper's loop: wait for the next call (spinning, then asleep), claim its part,
  /// run it, mark it done.
  private func serve(_ helper: Helper) -> Never {
    var seen = generation.load(ordering: .acquiring)
    while true {
      seen = nextCall(after: seen, helper)
      let (claimed, _) = helper.slot.compareExchange(
        expected: Slot.open(seen), desired: Slot.claimed(seen), ordering: .acquiringAndReleasing)
      if claimed {
        runPart(of: helper)
        helper.slot.store(Slot.done(seen), ordering: .releasing)
      }
    }
  }

  /// Worker `index + 1`'s part of the current call. A function of its own, so that the
  /// helper's reference to the body ends before it marks the part done.
  @inline(never)
  private func runPart(of helper: Helper) {
    // Non-nil: the part was claimed, so the call is still running.
    job!(helper.index + 1)
  }

  /// Waits until `generation` moves past `seen` and returns it: spins for
  /// ``spinNanoseconds`` (yielding the core between polls after
  /// ``busySpinNanoseconds``), then parks on the helper's semaphore. A caller that moves the
  /// generation swaps each helper's state to running and signals those it found parked,
  /// so either the helper sees the new generation after parking or the caller sees it
  /// parked (both orders are sequentially consistent).
  private func nextCall(after seen: Int, _ helper: Helper) -> Int {
    let start = DispatchTime.now().uptimeNanoseconds
    var (polls, yields) = (0, false)
    while true {
      let now = generation.load(ordering: .acquiring)
      if now != seen { return now }
      if yields { sched_yield() } else { calib_spin_pause() }
      polls &+= 1
      // A pause takes tens of cycles, a yield a system call: read the clock accordingly.
      if polls % (yields ? 4 : 64) == 0 {
        let elapsed = DispatchTime.now().uptimeNanoseconds &- start
        if elapsed > Self.spinNanoseconds { break }
        yields = elapsed > Self.busySpinNanoseconds
      }
    }
    helper.state.store(Helper.parked, ordering: .sequentiallyConsistent)
    if generation.load(ordering: .sequentiallyConsistent) != seen,
      helper.state.exchange(Helper.running, ordering: .sequentiallyConsistent) == Helper.parked
    {
      // A call came before anyone saw the helper parked: nobody signals it.
      return generation.load(ordering: .acquiring)
    }
    // The caller found the helper parked and signals it (or will).
    helper.wake.wait()
    return generation.load(ordering: .acquiring)
  }
}
