import Dispatch
import Synchronization

/// Fork-join helpers for the observers' hot loops.
///
/// Determinism: callers split their work into items that depend only on the input (never
/// on the thread count) and write each item's result to its own slot, so every result is
/// the same whether the items run on one thread or many.
enum ForkJoin {
  /// Runs `body(0..<iterations)` on the shared pool, or inline when there is one item or
  /// `parallel` is false.
  static func forEach(_ iterations: Int, parallel: Bool = true, _ body: @Sendable (Int) -> Void) {
    if iterations <= 0 { return }
    if iterations == 1 || !parallel {
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
