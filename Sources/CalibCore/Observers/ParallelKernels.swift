import Dispatch
import Synchronization

/// A process-wide switch that keeps observers' hot loops on the calling thread.
///
/// > Note: Superseded by the explicit settings ``Observer/runsInParallel``,
/// > ``MSEGridSearch/runsInParallel`` and the `parallel:` parameters of
/// > ``RangeReduction/minMax(_:layout:parallel:)`` and
/// > ``QuantizationArgs/quantizationParameters(min:max:globalScale:parallel:)``, which
/// > affect only their own caller. Kept as a compatibility shim for callers that still wrap
/// > their work in ``serially(_:)``: while any such call runs, every observation in the
/// > process runs serially. Results are identical either way.
public enum ObserverParallelism {
  private static let serialDepth = Atomic<Int>(0)

  /// Runs `body` with every observation's hot loops on the calling thread.
  public static func serially<T>(_ body: () throws -> T) rethrows -> T {
    serialDepth.add(1, ordering: .relaxed)
    defer { serialDepth.subtract(1, ordering: .relaxed) }
    return try body()
  }

  static var isSerial: Bool { serialDepth.load(ordering: .relaxed) > 0 }
}

/// Fork-join helpers for the observers' hot loops.
///
/// Determinism: callers split their work into items that depend only on the input (never
/// on the thread count) and write each item's result to its own slot, so every result is
/// the same whether the items run on one thread or many.
enum ParallelWork {
  /// Runs `body(0..<iterations)` on the shared pool, or inline when there is one item,
  /// when `parallel` is false, or inside ``ObserverParallelism/serially(_:)``.
  static func forEach(_ iterations: Int, parallel: Bool = true, _ body: @Sendable (Int) -> Void) {
    if iterations <= 0 { return }
    if iterations == 1 || !parallel || ObserverParallelism.isSerial {
      for i in 0..<iterations { body(i) }
      return
    }
    DispatchQueue.concurrentPerform(iterations: iterations, execute: body)
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
