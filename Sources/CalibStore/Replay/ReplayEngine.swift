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
  /// The observers' arithmetic; `nil` keeps the parent run's.
  public var arithmetic: Arithmetic?

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
    // Payloads read stay valid while the replay runs, even if their recording is removed
    // meanwhile.
    try store.readingPayloads { try replayLocked(request, progress: progress) }
  }

  private func replayLocked(_ request: ReplayRequest, progress: (@Sendable (ReplayProgress) -> Void)?) throws
    -> ReplaySummary
  {
    let start = Date()
    let recording = try StoredRecording(store: store, run: request.from)
    let plans = try request.variants.map { v in
      var plan = try CalibrationPlan(
        recipe: v.recipe, modules: recording.modules, weightShapes: recording.weights.mapValues(\.shape),
        sampleShapes: recording.firstShapes)
      plan.runObserversSerially()  // parallel across pairs only: `threads` bounds the cores used
      return plan
    }
    var lifecycle = CalibrationLifecycle(variants: plans, include: request.include)
    if lifecycle.isEmpty { throw ReplayError.nothingSelected(run: request.from) }

    let pairCount = lifecycle.reportedPairCount  // before freezing drops the observers
    let runs = try createRuns(request, parent: recording.run)
    let writer = StateWriter(
      store: store, runs: runs, moduleIDs: recording.moduleIDs, buffered: false,
      arithmetic: request.arithmetic ?? recording.run.arithmetic)
    let bytesRead = Mutex<Int64>(0)
    do {
      try replayLanes(&lifecycle, recording: recording, writer: writer, threads: request.threads, bytesRead: bytesRead) { done, total in
        progress?(ReplayProgress(pairsDone: done, pairs: total, bytes: bytesRead.withLock { $0 }, seconds: Date().timeIntervalSince(start)))
      }
    } catch {
      try? store.pool.write { db in
        for run in runs {
          try db.execute(sql: "UPDATE run SET status = 'failed', owner = NULL WHERE id = ? AND status = 'in_progress'", arguments: [run.id])
        }
      }
      throw store.translated(error)
    }
    return ReplaySummary(
      runs: request.variants.map(\.name), pairs: pairCount,
      bytes: bytesRead.withLock { $0 }, seconds: Date().timeIntervalSince(start))
  }

  /// The lifecycle on the stored samples: weights, then one lane per (module, base name)
  /// on the workers, each fed its steps in recorded order, then the final parameters.
  private func replayLanes(
    _ lifecycle: inout CalibrationLifecycle, recording: StoredRecording, writer: StateWriter, threads: Int,
    bytesRead: borrowing Mutex<Int64>, progress: @Sendable (Int, Int) -> Void
  ) throws {
    let workers = ParallelWork(threads: threads)
    try lifecycle.supplyInputImportance { name in
      try inputSamples(of: name, recording: recording, arithmetic: writer.arithmetic, bytesRead: bytesRead)
    }
    try lifecycle.calibrateWeights(
      loading: { name in
        guard let sample = recording.weights[name] else { return nil }
        bytesRead.withLock { $0 += Int64(sample.byteCount) }
        var weight = try store.sampleTensor(sample)
        weight.dtype = writer.arithmetic.dtype(forSamplesOf: sample.dtype.modelDType)
        return weight
      }, workers: workers, sink: writer)
    let lanes = lifecycle.activationLanes()
    let fed = Mutex([ActivationLane]())
    try workers.forEach(lanes.count) { i in
      var lane = lanes[i]
      var states: [RecordedState] = []
      // Every step of the pair is read into the same storage.
      var floats: [Float] = []
      var bits: [UInt16] = []
      for sample in recording.activations[lane.pair] ?? [] where !sample.isNonFinite {
        let dtype = writer.arithmetic.dtype(forSamplesOf: sample.dtype.modelDType)
        let value = try store.readTensor(sample, dtype: dtype, floats: &floats, bits: &bits)
        bytesRead.withLock { $0 += Int64(sample.byteCount) }
        states += try lane.observe(value, step: sample.step)
      }
      try writer.record(states)
      progress(fed.withLock { $0.append(lane); return $0.count }, lanes.count)
    }
    lifecycle.absorb(fed.withLock { $0 })
    let finals = lifecycle.finish()
    try store.pool.write { db in
      try writer.writeFinal(db, finals)
      for run in writer.runs {
        try db.execute(
          sql: "UPDATE run SET status = 'complete', owner = NULL, completedSteps = ? WHERE id = ?",
          arguments: [recording.run.completedSteps, run.id])
      }
    }
  }

  /// The finite input samples of a module (`<module>.input`, base name input) in step
  /// order, for imatrix_mse's importance; the samples a recording skipped as non-finite
  /// are left out, as the activation lanes leave them out.
  ///
  /// - Throws: ``ImportanceInputError/noInputSamples(module:run:)`` when there are none.
  private func inputSamples(
    of module: String, recording: StoredRecording, arithmetic: Arithmetic, bytesRead: borrowing Mutex<Int64>
  ) throws -> [Tensor] {
    let samples = (recording.activations[PairKey(module: module, base: .input)] ?? []).filter { !$0.isNonFinite }
    if samples.isEmpty { throw ImportanceInputError.noInputSamples(module: module, run: recording.run.name) }
    return try samples.map { sample in
      var buffer: [Float] = []
      _ = try store.readSample(sample, into: &buffer)
      bytesRead.withLock { $0 += Int64(sample.byteCount) }
      return Tensor(shape: sample.shape, values: buffer, dtype: arithmetic.dtype(forSamplesOf: sample.dtype.modelDType))
    }
  }

  /// Inserts the new runs (in progress). An unfinished replayed run of the same name is
  /// replaced, so an interrupted replay can simply be retried.
  ///
  /// The parent was read in an earlier transaction: if it has been removed since (or
  /// recorded again under its name, as another run), that is reported by name here. Once
  /// the new runs exist, `rm` refuses the parent's recording until they are gone.
  private func createRuns(_ request: ReplayRequest, parent: RunRecord) throws -> [(id: Int64, name: String)] {
    try store.pool.write { db in
      guard let parentID = parent.id, try RunRecord.fetchOne(db, key: parentID) != nil else {
        throw StoreError.runNotFound(parent.name, store: store.path)
      }
      return try request.variants.map { v in
        if let old = try store.runRecord(db, named: v.name) {
          guard old.kind == .replayed, old.status != .complete else { throw StoreError.runAlreadyExists(v.name) }
          try store.deleteRunRows(db, run: old, force: false)
        }
        let diff = try JSONSerialization.data(withJSONObject: v.differences, options: [.withoutEscapingSlashes])
        var run = RunRecord(
          name: v.name, kind: .replayed, parentID: parent.id, recordingID: parent.recordingID ?? parent.id,
          settingsDiff: String(decoding: diff, as: UTF8.self), recipe: v.recipeText,
          arithmetic: request.arithmetic ?? parent.arithmetic)
        try run.insert(db)
        return (run.id ?? db.lastInsertedRowID, v.name)
      }
    }
  }
}
