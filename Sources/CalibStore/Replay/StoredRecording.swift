import CalibCore
internal import GRDB

/// A complete recording's samples as a replay reads them: the weight of each module, the
/// activation samples of each (module, base name) in step order, and the module classes.
struct StoredRecording: Sendable {
  let run: RunRecord
  let modules: [(name: String, type: String?)]
  let moduleIDs: [String: Int64]
  let weights: [String: SampleInfo]
  let activations: [PairKey: [SampleInfo]]
  /// The shape of each module's first sample per activation base name.
  let firstShapes: [String: [BaseName: [Int]]]

  /// Loads the sample index of the recording behind `run` (itself, or a replay's parent
  /// recording).
  ///
  /// - Throws: ``StoreError/runNotFound(_:store:)``, or
  ///   ``ReplayError/recordingIncomplete(run:)`` for a run that is not complete.
  init(store: CalibrationStore, run name: String) throws {
    let (run, samples, moduleIDs) = try store.pool.read { db -> (RunRecord, [SampleInfo], [String: Int64]) in
      let run = try store.requireRun(db, named: name)
      guard run.status == .complete else { throw ReplayError.recordingIncomplete(run: run.name) }
      let samples = try store.fetchSamples(db, recordingID: run.recordingID ?? run.id ?? -1)
      let ids = try ModuleRecord.fetchAll(db).reduce(into: [String: Int64]()) { $0[$1.name] = $1.id }
      return (run, samples, ids)
    }
    var types: [String: String?] = [:]
    for s in samples { types[s.module] = s.moduleType }
    var firstShapes: [String: [BaseName: [Int]]] = [:]
    for s in samples where s.baseName != .weight && firstShapes[s.module]?[s.baseName] == nil {
      firstShapes[s.module, default: [:]][s.baseName] = s.shape
    }
    self.run = run
    self.modules = types.keys.sorted().map { ($0, types[$0] ?? nil) }
    self.moduleIDs = moduleIDs
    self.weights = Dictionary(samples.filter { $0.baseName == .weight }.map { ($0.module, $0) }, uniquingKeysWith: { a, _ in a })
    self.activations = Dictionary(grouping: samples.filter { $0.baseName != .weight }) { PairKey(module: $0.module, base: $0.baseName) }
      .mapValues { $0.sorted { $0.step < $1.step } }
    self.firstShapes = firstShapes
  }
}
