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
  let runIDs: [Int64]
  let moduleIDs: [String: Int64]
  let buffered: Bool
  private let pending = Mutex([ObserverStateRecord]())

  init(store: CalibrationStore, runIDs: [Int64], moduleIDs: [String: Int64], buffered: Bool) {
    self.store = store
    self.runIDs = runIDs
    self.moduleIDs = moduleIDs
    self.buffered = buffered
  }

  func record(_ states: [RecordedState]) throws {
    let rows = states.compactMap { s in
      moduleIDs[s.snapshot.module].map {
        CalibrationStore.stateRecord(s.snapshot, runID: runIDs[s.variant], moduleID: $0, step: s.step)
      }
    }
    if buffered {
      pending.withLock { $0 += rows }
    } else if !rows.isEmpty {
      try store.pool.write { db in for r in rows { try r.insertOrReplace(db) } }
    }
  }

  /// Writes the buffered rows in the caller's transaction.
  func flush(_ db: Database) throws {
    for r in pending.withLock({ p in defer { p.removeAll() }; return p }) { try r.insertOrReplace(db) }
  }

  /// Writes final parameters, each under its variant's run, in the caller's transaction.
  func writeFinal(_ db: Database, _ finals: [[FinalParameters]]) throws {
    for (v, variantFinals) in finals.enumerated() {
      for final in variantFinals {
        guard let moduleID = moduleIDs[final.module] else { continue }
        try store.writeFinal(db, runID: runIDs[v], moduleID: moduleID, final)
      }
    }
  }
}
