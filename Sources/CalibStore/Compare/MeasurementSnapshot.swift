import CalibCore
import CalibLifecycle
internal import GRDB

/// Everything a measurement of several runs reads from the database, fetched in one read
/// transaction: each run's final parameters and the sample index of each recording behind
/// them.
///
/// One transaction sees one committed state of the store, so a run removed (or removed and
/// recorded again) meanwhile is seen either whole, as it was, or not at all: parameters and
/// samples never come from two different recordings of the same name. Taken inside
/// ``CalibrationStore/readingPayloads(_:)``, the payload offsets it lists stay valid until
/// the measurement ends.
struct MeasurementSnapshot: Sendable {
  /// The runs, in the order given.
  let runs: [String]
  /// The final parameters of each run (same order as ``runs``).
  let finals: [[QParamsEntry]]
  /// The samples of the recording behind each run, by (module, base name), in step order;
  /// `nil` for a run without a recording (an import).
  let samples: [[PairKey: [SampleInfo]]?]

  /// Reads the snapshot.
  ///
  /// - Throws: ``StoreError/runNotFound(_:store:)`` for a run that does not exist, and
  ///   ``StoreError/runIncomplete(_:status:store:)`` for one that is not complete (its
  ///   parameters or samples would be partial).
  init(_ db: Database, store: CalibrationStore, runs names: [String]) throws {
    var finals: [[QParamsEntry]] = []
    var recordings: [Int64?] = []
    for name in names {
      let run = try store.requireRun(db, named: name)
      guard run.status == .complete else {
        throw StoreError.runIncomplete(name, status: run.status.rawValue, store: store.path)
      }
      finals.append(try store.fetchFinalQParams(db, runID: run.id ?? -1))
      recordings.append(run.recordingID)
    }
    var byRecording: [Int64: [PairKey: [SampleInfo]]] = [:]
    for case let id? in recordings where byRecording[id] == nil {
      byRecording[id] = Self.byPair(try store.fetchSamples(db, recordingID: id))
    }
    self.runs = names
    self.finals = finals
    self.samples = recordings.map { $0.flatMap { byRecording[$0] } }
  }

  /// Groups samples by (module, base name), each group in step order (ties in the order
  /// the rows were stored, as the recording wrote them).
  private static func byPair(_ samples: [SampleInfo]) -> [PairKey: [SampleInfo]] {
    Dictionary(grouping: samples) { PairKey(module: $0.module, base: $0.baseName) }
      .mapValues { group in group.sorted { ($0.step, $0.id) < ($1.step, $1.id) } }
  }

  /// The (module, base name) pairs that any run has final parameters for, sorted.
  func pairs(including include: (String, BaseName) -> Bool) -> [PairKey] {
    var keys = Set<PairKey>()
    for entries in finals {
      for e in entries where include(e.module, e.baseName) { keys.insert(PairKey(module: e.module, base: e.baseName)) }
    }
    return keys.sorted()
  }

  /// What measuring `pair` takes: the samples of the first run (in the order given) whose
  /// recording holds any for it, and each run's parameters to measure with.
  func job(for pair: PairKey) -> PairMeasurement {
    var source: (run: String, samples: [SampleInfo])?
    for (i, byPair) in samples.enumerated() {
      if let s = byPair?[pair], !s.isEmpty {
        source = (runs[i], s)
        break
      }
    }
    let entries = finals.map { $0.first { $0.module == pair.module && $0.baseName == pair.base } }
    let fallbackArgs = entries.lazy.compactMap { $0.flatMap { CalibrationStore.decodeArgs($0.argsJSON) } }.first
    var meters: [PairMeasurement.Meter] = []
    for (i, entry) in entries.enumerated() {
      guard let entry, let args = CalibrationStore.decodeArgs(entry.argsJSON) ?? fallbackArgs,
        let meter = PairMeasurement.Meter(run: runs[i], args: args, parameters: entry.parameters)
      else { continue }
      meters.append(meter)
    }
    return PairMeasurement(
      pair: pair, samplesFrom: source?.run, samples: source?.samples.filter { !$0.isNonFinite } ?? [], meters: meters)
  }
}
