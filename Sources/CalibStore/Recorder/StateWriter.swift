import CalibLifecycle
import Synchronization
internal import GRDB

/// The store side of a ``CalibrationSink``: turns reported states into `observerState`
/// rows of the runs they belong to.
///
/// With `buffered`, rows wait in memory until ``flush(_:)`` writes them in the caller's
/// transaction (a recording commits a phase's samples and states together); otherwise
/// each report is written in a transaction of its own (a replay's workers).
final class StateWriter: CalibrationSink {
  let store: CalibrationStore
  /// The run of each variant.
  let runs: [(id: Int64, name: String)]
  let moduleIDs: [String: Int64]
  let buffered: Bool
  /// The observers' arithmetic, the same for every run of a replay.
  let arithmetic: Arithmetic
  private let pending = Mutex([ObserverStateRecord]())

  init(store: CalibrationStore, runs: [(id: Int64, name: String)], moduleIDs: [String: Int64], buffered: Bool, arithmetic: Arithmetic) {
    self.store = store
    self.arithmetic = arithmetic
    self.runs = runs
    self.moduleIDs = moduleIDs
    self.buffered = buffered
  }

  convenience init(store: CalibrationStore, run: (id: Int64, name: String), moduleIDs: [String: Int64], buffered: Bool, arithmetic: Arithmetic) {
    self.init(store: store, runs: [run], moduleIDs: moduleIDs, buffered: buffered, arithmetic: arithmetic)
  }

  /// The run of a single-variant writer (a recording).
  var run: (id: Int64, name: String) { runs[0] }

  func record(_ states: [RecordedState]) throws {
    let rows = states.compactMap { s in
      moduleIDs[s.snapshot.module].map {
        CalibrationStore.stateRecord(s.snapshot, runID: runs[s.variant].id, moduleID: $0, step: s.step)
      }
    }
    if buffered {
      pending.withLock { $0 += rows }
    } else if !rows.isEmpty {
      try store.pool.write { db in
        for v in Set(states.map(\.variant)).sorted() { try store.requireLive(db, runID: runs[v].id, name: runs[v].name) }
        for r in rows { try r.insertOrReplace(db) }
      }
    }
  }

  /// Writes the buffered rows in the caller's transaction.
  func flush(_ db: Database) throws {
    for r in pending.withLock({ p in defer { p.removeAll() }; return p }) { try r.insertOrReplace(db) }
  }

  /// Writes final parameters, each under its variant's run, in the caller's transaction.
  func writeFinal(_ db: Database, _ finals: [[FinalParameters]]) throws {
    for (v, variantFinals) in finals.enumerated() {
      try store.requireLive(db, runID: runs[v].id, name: runs[v].name)
      for final in variantFinals {
        guard let moduleID = moduleIDs[final.module] else { continue }
        try store.writeFinal(db, runID: runs[v].id, moduleID: moduleID, final)
      }
    }
  }
}
