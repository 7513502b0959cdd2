import CalibCore
import CalibFormats
import CalibLifecycle
import Foundation
internal import GRDB

/// What `calib record` was asked to do.
public struct RecordRequest: Sendable {
  public var runName: String
  /// The recipe text and where it came from; `nil` to resume with the stored recipe.
  public var recipe: (text: String, source: String)?
  public var weightFiles: [String]
  public var stepFiles: [String]
  public var allowNonFinite = false
  public var resume = false
  /// Delete an existing run of the same name first (refused while replays use it).
  public var replace = false
  public var note: String?

  public init(
    runName: String, recipe: (text: String, source: String)?, weightFiles: [String], stepFiles: [String]
  ) {
    self.runName = runName
    self.recipe = recipe
    self.weightFiles = weightFiles
    self.stepFiles = stepFiles
  }
}

/// Progress of a recording, reported after each tensor.
public struct RecordProgress: Sendable {
  public var step: Int
  public var steps: Int
  public var tensors: Int
  public var bytes: Int64
  public var seconds: Double
}

/// What a finished recording wrote.
public struct RecordSummary: Sendable {
  public var run: String
  public var steps: Int
  public var tensors: Int
  public var bytes: Int64
  public var seconds: Double
  public var warnings: [String]
}

/// Records a calibration session into a store, following llm-compressor 0.10's lifecycle
/// (QUANT_SEMANTICS §6.3):
///
/// 1. observers are initialized per module and base name from the recipe's schemes;
/// 2. weight global scales (TENSOR_GROUP) for all targets, then the fused minimum for
///    q/k/v and gate/up projections, then weight scales and zero points — once, before any
///    step (one transaction, "step 0" of base name `weight`);
/// 3. each step file in order, one transaction per step: every tensor is stored as a
///    sample and, when an observer watches it, observed (inputs and q/k/v calibrate,
///    outputs calibrate and are fake-quantized); the state after each call is recorded;
/// 4. the final parameters are written and the run marked complete.
///
/// A failure marks the run failed; a crash leaves it in progress. Either way every
/// completed step is intact and ``record(_:progress:)`` with `resume` continues it.
public struct Recorder: Sendable {
  public let store: CalibrationStore

  public init(store: CalibrationStore) {
    self.store = store
  }

  /// Records (or resumes) a run.
  ///
  /// - Throws: ``StoreError``, ``RecipeError``, ``InputError``, ``FormatError`` or
  ///   ``ObserverError``; nothing is written when the inputs or recipe are invalid.
  public func record(_ request: RecordRequest, progress: (@Sendable (RecordProgress) -> Void)? = nil)
    throws -> RecordSummary
  {
    let start = Date()
    let inputs = try RecordingInputs(stepFiles: request.stepFiles, weightFiles: request.weightFiles)
    var existing = try store.pool.read { db in try store.runRecord(db, named: request.runName) }
    if existing != nil && request.replace && !request.resume {
      _ = try CalibrationPlan(recipe: try Recipe(text: request.recipe?.text ?? "", source: request.recipe?.source ?? ""), inputs: inputs)
      try store.deleteRun(named: request.runName)
      existing = nil
    }
    if let existing, !request.resume { throw StoreError.runAlreadyExists(existing.name) }
    if request.resume {
      guard let existing else { throw StoreError.runNotFound(request.runName, store: store.path) }
      guard existing.kind == .recorded, existing.status != .complete else {
        throw StoreError.runNotResumable(existing.name, status: existing.status.rawValue)
      }
      if let given = request.recipe, given.text != existing.recipe { throw InputError.recipeChanged(run: existing.name) }
      if existing.completedSteps > request.stepFiles.count {
        throw InputError.stepFilesChanged(run: existing.name, expected: existing.completedSteps, given: request.stepFiles.count)
      }
    }
    if request.resume, var resumed = existing, let id = resumed.id {
      // After a power loss, the unsynchronized tail of the payloads may not have reached
      // the disk: resume from the first step whose samples fail their checksum.
      let lost = try store.verifyUnsyncedSamples(recordingID: id)
      if lost.contains(where: { $0.baseName == .weight }) {
        resumed.weightsDone = false
        resumed.completedSteps = 0
      } else if let first = lost.map(\.step).min() {
        resumed.completedSteps = min(resumed.completedSteps, first)
      }
      existing = resumed
    }
    guard let recipeInput = request.recipe ?? existing.flatMap({ r in r.recipe.map { ($0, "recipe of \(r.name)") } })
    else { throw InputError.recipeChanged(run: request.runName) }
    let recipe = try Recipe(text: recipeInput.text, source: recipeInput.source)
    var lifecycle = CalibrationLifecycle(variants: [try CalibrationPlan(recipe: recipe, inputs: inputs)])

    // Create (or reopen) the run and its modules.
    var run = try store.pool.write { db -> RunRecord in
      var run = existing ?? RunRecord(name: request.runName, kind: .recorded, recipe: recipeInput.text, note: request.note)
      if run.id == nil {
        do {
          try run.insert(db)
        } catch let e as DatabaseError where e.resultCode == .SQLITE_CONSTRAINT {
          throw StoreError.runAlreadyExists(request.runName)
        }
      }
      run.status = .inProgress
      try db.execute(
        sql: "UPDATE run SET status = 'in_progress', recordingID = id, completedSteps = ?, weightsDone = ? WHERE id = ?",
        arguments: [run.completedSteps, run.weightsDone, run.id])
      return run
    }
    let runID = run.id ?? -1
    var counts = RecordCounts(start: start, steps: inputs.steps.count, progress: progress)
    var warnings: [String] = []
    do {
      let moduleIDs = try store.pool.write { db in
        try Dictionary(uniqueKeysWithValues: inputs.modules.map { ($0.name, try store.moduleID(db, name: $0.name, type: $0.type)) })
      }
      let writer = StateWriter(store: store, runIDs: [runID], moduleIDs: moduleIDs, buffered: true)
      if run.weightsDone || run.completedSteps > 0 {
        let states = try store.pool.read { db in try store.latestStates(db, runID: runID, beforeStep: run.completedSteps) }
        for (pair, state, params) in states { lifecycle.restore(variant: 0, pair, state: state, parameters: params) }
      }
      if !run.weightsDone {
        warnings = try recordWeights(&lifecycle, inputs: inputs, runID: runID, moduleIDs: moduleIDs, writer: writer, counts: &counts)
        run.weightsDone = true
      }
      var lanes = Dictionary(uniqueKeysWithValues: lifecycle.activationLanes().map { ($0.pair, $0) })
      for stepIndex in run.completedSteps..<inputs.steps.count {
        try recordStep(
          stepIndex, inputs: inputs, lanes: &lanes, runID: runID, moduleIDs: moduleIDs, writer: writer,
          allowNonFinite: request.allowNonFinite, counts: &counts)
        run.completedSteps = stepIndex + 1
      }
      lifecycle.absorb(Array(lanes.values))
      let finals = lifecycle.finish()
      try store.pool.write { db in
        // Completion promises durable samples: synchronize the segment before marking it.
        try store.synchronizeSamples(db)
        try writer.writeFinal(db, finals)
        try db.execute(sql: "UPDATE run SET status = 'complete' WHERE id = ?", arguments: [runID])
      }
    } catch {
      try? store.setStatus(.failed, ofRun: request.runName)
      throw error
    }
    return RecordSummary(
      run: request.runName, steps: inputs.steps.count, tensors: counts.tensors, bytes: counts.bytes,
      seconds: Date().timeIntervalSince(start), warnings: warnings)
  }

  /// The weight phase, in one transaction: every weight a replay may need is stored as a
  /// sample, then the lifecycle calibrates the weights the recipe quantizes.
  private func recordWeights(
    _ lifecycle: inout CalibrationLifecycle, inputs: RecordingInputs, runID: Int64, moduleIDs: [String: Int64],
    writer: StateWriter, counts: inout RecordCounts
  ) throws -> [String] {
    // Weights of quantized modules and of every sampled module are kept, so a replay can
    // quantize weights the recording's recipe left alone.
    let sampled = Set(inputs.steps.flatMap { $0.samples.map(\.module) })
    let quantized = Set(lifecycle.variants[0].modules.values.filter { $0.scheme.weights != nil }.map(\.name))
    let stored = quantized.union(sampled).filter { inputs.weights[$0] != nil }.sorted()
    return try store.pool.write { db in
      var nonFinite: [String: InputError] = [:]
      try store.appendingSamples(db) { appender in
        for name in stored {
          guard let (file, entry) = inputs.weights[name], let moduleID = moduleIDs[name] else { continue }
          try file.withRawBytes(of: entry.name) { raw in
            let (nan, inf) = NonFiniteCount.count(raw, dtype: entry.dtype)
            if nan + inf > 0 { nonFinite[name] = .nonFinite(file: file.path, key: entry.name, nan: nan, inf: inf) }
            try store.insertSample(
              db, at: try appender.append(raw), recordingID: runID, moduleID: moduleID, baseName: .weight, step: 0, dtype: entry.dtype,
              shape: entry.shape, byteCount: raw.count, checksum: XXHash64.hex(raw), nanCount: nan, infCount: inf)
            counts.add(tensors: 1, bytes: raw.count)
          }
        }
      }
      let refused = nonFinite
      let warnings = try lifecycle.calibrateWeights(
        loading: { name in
          if let error = refused[name] { throw error }
          guard let (file, entry) = inputs.weights[name] else { return nil }
          return try file.tensor(entry.name)
        }, workers: SerialWork(), sink: writer)
      try writer.flush(db)
      try db.execute(sql: "UPDATE run SET weightsDone = 1 WHERE id = ?", arguments: [runID])
      return warnings
    }
  }

  /// One step, in one transaction: every tensor is stored as a sample and, when a lane
  /// watches it, observed. The payloads are copied file to file in the background, back to
  /// back in sample order, while this thread checksums, counts and observes them.
  private func recordStep(
    _ stepIndex: Int, inputs: RecordingInputs, lanes: inout [PairKey: ActivationLane], runID: Int64,
    moduleIDs: [String: Int64], writer: StateWriter, allowNonFinite: Bool, counts: inout RecordCounts
  ) throws {
    let step = inputs.steps[stepIndex]
    try store.pool.write { db in
      try store.appendingSamples(db) { appender in
        let offsets = step.samples.map { appender.reserve($0.entry.byteCount) }
        let copy = BackgroundCopy(
          segment: appender.segment, source: step.file.path,
          ranges: step.samples.map { (step.file.dataStart + $0.entry.byteRange.lowerBound)..<(step.file.dataStart + $0.entry.byteRange.upperBound) },
          offset: offsets.first ?? appender.end)
        try step.file.forEachRawBytes(of: step.samples.map(\.entry)) { index, raw in
          let sample = step.samples[index]
          let (nan, inf) = NonFiniteCount.count(raw, dtype: sample.entry.dtype)
          if nan + inf > 0 && !allowNonFinite {
            throw InputError.nonFinite(file: step.file.path, key: sample.entry.name, nan: nan, inf: inf)
          }
          try store.insertSample(
            db, at: offsets[index], recordingID: runID, moduleID: moduleIDs[sample.module] ?? -1, baseName: sample.baseName,
            step: stepIndex, dtype: sample.entry.dtype, shape: sample.entry.shape, byteCount: raw.count,
            checksum: XXHash64.hex(raw), nanCount: nan, infCount: inf)
          let pair = PairKey(module: sample.module, base: sample.baseName)
          if nan + inf == 0, var lane = lanes[pair] {
            let value = Tensor(shape: sample.entry.shape, values: sample.entry.dtype.decode(raw))
            try writer.record(try lane.observe(value, step: stepIndex))
            lanes[pair] = lane
          }
          counts.add(tensors: 1, bytes: sample.entry.byteCount, step: stepIndex + 1)
        }
        try copy.wait()
      }
      try writer.flush(db)
      try db.execute(sql: "UPDATE run SET completedSteps = ? WHERE id = ?", arguments: [stepIndex + 1, runID])
    }
  }
}

/// Tensors and bytes recorded so far, reported as progress.
private struct RecordCounts {
  let start: Date
  let steps: Int
  let progress: (@Sendable (RecordProgress) -> Void)?
  var tensors = 0
  var bytes: Int64 = 0

  init(start: Date, steps: Int, progress: (@Sendable (RecordProgress) -> Void)?) {
    self.start = start
    self.steps = steps
    self.progress = progress
  }

  mutating func add(tensors n: Int, bytes b: Int, step: Int = 0) {
    tensors += n
    bytes += Int64(b)
    progress?(RecordProgress(step: step, steps: steps, tensors: tensors, bytes: bytes, seconds: Date().timeIntervalSince(start)))
  }
}
