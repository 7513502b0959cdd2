import CalibCore
import CalibFormats
import CalibLifecycle
import Foundation
internal import GRDB
import Synchronization

/// One run a replay produces: its name, settings and how they differ from the parent.
public struct ReplayVariant: Sendable {
  public var name: String
  public var recipe: Recipe
  /// The recipe text to store (the parent's when nothing changed).
  public var recipeText: String
  /// What differs from the parent, one line per setting.
  public var differences: [String]

  public init(name: String, recipe: Recipe, recipeText: String, differences: [String]) {
    self.name = name
    self.recipe = recipe
    self.recipeText = recipeText
    self.differences = differences
  }
}

/// What `calib replay` was asked to do.
public struct ReplayRequest: Sendable {
  public var from: String
  public var variants: [ReplayVariant]
  /// Which (module, base name) pairs to replay.
  public var include: @Sendable (String, BaseName) -> Bool
  public var threads: Int

  public init(from: String, variants: [ReplayVariant], include: @escaping @Sendable (String, BaseName) -> Bool = { _, _ in true }, threads: Int) {
    self.from = from
    self.variants = variants
    self.include = include
    self.threads = threads
  }
}

/// Progress of a replay, reported after each (module, base name) pair.
public struct ReplayProgress: Sendable {
  public var pairsDone: Int
  public var pairs: Int
  public var bytes: Int64
  public var seconds: Double
}

/// What a finished replay wrote.
public struct ReplaySummary: Sendable {
  public var runs: [String]
  public var pairs: Int
  public var bytes: Int64
  public var seconds: Double
}

/// Re-runs observers with other settings on a recording's stored samples, applying the
/// calibration lifecycle exactly as ``Recorder`` does: weights once (global scales, fused
/// minimum, then scales), then every step's activations in recorded order, storing
/// per-step states and final parameters.
///
/// (module, base name) pairs are independent once the weights are done, so they run in
/// parallel; each pair's steps run in order on one thread, so results do not depend on
/// the thread count. A sweep replays several variants reading each sample once.
///
/// > Note: samples are replayed as recorded. When output fake-quantization settings
/// > change, the effect on downstream layers' inputs is not propagated.
public struct ReplayEngine: Sendable {
  public let store: CalibrationStore

  public init(store: CalibrationStore) {
    self.store = store
  }

  /// The parent run's recipe.
  public func parentRecipe(of run: String) throws -> Recipe {
    let record = try store.pool.read { db in try store.requireRun(db, named: run) }
    guard let text = record.recipe else { throw ReplayError.noRecipe(run: run) }
    return try Recipe(text: text, source: "recipe of \(run)")
  }

  /// Replays every variant; nothing is written when a variant's settings or samples are
  /// unusable.
  public func replay(_ request: ReplayRequest, progress: (@Sendable (ReplayProgress) -> Void)? = nil) throws
    -> ReplaySummary
  {
    // Parallel across pairs only: `threads` bounds the cores used.
    try ObserverParallelism.serially { try replaySerialObservers(request, progress: progress) }
  }

  private func replaySerialObservers(_ request: ReplayRequest, progress: (@Sendable (ReplayProgress) -> Void)?) throws
    -> ReplaySummary
  {
    let start = Date()
    let (parent, samples, modules, moduleIDs) = try store.pool.read {
      db -> (RunRecord, [SampleInfo], [(name: String, type: String?)], [String: Int64]) in
      let parent = try store.requireRun(db, named: request.from)
      guard parent.status == .complete else { throw ReplayError.recordingIncomplete(run: parent.name) }
      let samples = try store.fetchSamples(db, recordingID: parent.recordingID ?? parent.id ?? -1)
      var types: [String: String?] = [:]
      for s in samples { types[s.module] = s.moduleType }
      let ids = try ModuleRecord.fetchAll(db).reduce(into: [String: Int64]()) { $0[$1.name] = $1.id }
      return (parent, samples, types.keys.sorted().map { ($0, types[$0] ?? nil) }, ids)
    }
    let weightSamples = Dictionary(samples.filter { $0.baseName == .weight }.map { ($0.module, $0) }, uniquingKeysWith: { a, _ in a })
    var firstShapes: [String: [BaseName: [Int]]] = [:]
    for s in samples where s.baseName != .weight && firstShapes[s.module]?[s.baseName] == nil {
      firstShapes[s.module, default: [:]][s.baseName] = s.shape
    }
    let plans = try request.variants.map { v in
      try CalibrationPlan(recipe: v.recipe, modules: modules, weightShapes: weightSamples.mapValues(\.shape), sampleShapes: firstShapes)
    }
    var lifecycle = CalibrationLifecycle(variants: plans, include: request.include)
    if lifecycle.isEmpty { throw ReplayError.nothingSelected(run: request.from) }

    let runIDs = try createRuns(request, parent: parent)
    let bytesRead = Mutex<Int64>(0)
    let workers = ParallelWork(threads: request.threads)
    let writer = StateWriter(store: store, runIDs: runIDs, moduleIDs: moduleIDs, buffered: false)
    do {
      try lifecycle.calibrateWeights(
        loading: { name in
          guard let sample = weightSamples[name] else { return nil }
          bytesRead.withLock { $0 += Int64(sample.byteCount) }
          return try store.sampleTensor(sample)
        }, workers: workers, sink: writer)

      // Activations: one lane per (module, base name), fed its steps in recorded order.
      let lanes = lifecycle.activationLanes()
      let samplesByPair = Dictionary(grouping: samples.filter { $0.baseName != .weight }) { PairKey(module: $0.module, base: $0.baseName) }
      let fed = Mutex([ActivationLane]())
      try workers.forEach(lanes.count) { i in
        var lane = lanes[i]
        var states: [RecordedState] = []
        var buffer: [Float] = []  // every step of the pair decodes into the same storage
        for sample in (samplesByPair[lane.pair] ?? []).sorted(by: { $0.step < $1.step }) where !sample.isNonFinite {
          try store.readSample(sample, into: &buffer)
          bytesRead.withLock { $0 += Int64(sample.byteCount) }
          states += try lane.observe(Tensor(shape: sample.shape, values: buffer), step: sample.step)
        }
        try writer.record(states)
        let n = fed.withLock { $0.append(lane); return $0.count }
        progress?(ReplayProgress(pairsDone: n, pairs: lanes.count, bytes: bytesRead.withLock { $0 }, seconds: Date().timeIntervalSince(start)))
      }
      lifecycle.absorb(fed.withLock { $0 })
      let finals = lifecycle.finish()
      try store.pool.write { db in
        try writer.writeFinal(db, finals)
        for id in runIDs {
          try db.execute(sql: "UPDATE run SET status = 'complete', completedSteps = ? WHERE id = ?", arguments: [parent.completedSteps, id])
        }
      }
    } catch {
      try? store.pool.write { db in
        for id in runIDs { try db.execute(sql: "UPDATE run SET status = 'failed' WHERE id = ?", arguments: [id]) }
      }
      throw error
    }
    return ReplaySummary(
      runs: request.variants.map(\.name), pairs: lifecycle.reportedPairCount,
      bytes: bytesRead.withLock { $0 }, seconds: Date().timeIntervalSince(start))
  }

  /// Inserts the new runs (in progress). An unfinished replayed run of the same name is
  /// replaced, so an interrupted replay can simply be retried.
  private func createRuns(_ request: ReplayRequest, parent: RunRecord) throws -> [Int64] {
    try store.pool.write { db in
      try request.variants.map { v in
        if let old = try store.runRecord(db, named: v.name) {
          guard old.kind == .replayed, old.status != .complete else { throw StoreError.runAlreadyExists(v.name) }
          try db.execute(sql: "DELETE FROM run WHERE id = ?", arguments: [old.id])
        }
        let diff = try JSONSerialization.data(withJSONObject: v.differences, options: [.withoutEscapingSlashes])
        var run = RunRecord(
          name: v.name, kind: .replayed, parentID: parent.id, recordingID: parent.recordingID ?? parent.id,
          settingsDiff: String(decoding: diff, as: UTF8.self), recipe: v.recipeText)
        try run.insert(db)
        return run.id ?? db.lastInsertedRowID
      }
    }
  }
}
