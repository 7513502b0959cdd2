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
  /// Module class names known beforehand (a recording manifest's).
  public var moduleTypes: [String: String] = [:]
  public var allowNonFinite = false
  public var resume = false
  /// Replace an existing run of the same name: the new run is recorded under a temporary
  /// name and swapped in only when complete (refused while replays use the old one).
  public var replace = false
  /// The arithmetic of the observers.
  public var arithmetic = Arithmetic.model
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

/// Records a calibration session into a store: the samples go to the store, and the
/// ``CalibrationLifecycle`` (llm-compressor 0.10's lifecycle) observes them.
///
/// 1. The weight phase, one transaction: every weight a replay may need is stored as a
///    sample, then the lifecycle calibrates the weights (global scales, the fused minimum,
///    scales). Its states are step 0 of base name `weight`.
/// 2. Each step file in order, one transaction per step: every tensor is stored as a
///    sample and, when a lane watches it, observed; the state after each call is recorded.
/// 3. The final parameters are written and the run marked complete.
///
/// Each transaction first checks that the run still exists and is in progress, so a run
/// removed under the recorder stops it cleanly. A failure marks the run failed; a crash
/// leaves it in progress (stale). Either way every completed step is intact, and
/// `resume` continues it after checking that the input files are unchanged.
public struct Recorder: Sendable {
  public let store: CalibrationStore
  /// Sample bytes below which consecutive steps share a transaction
  /// (``defaultTransactionBytes``; tests lower it to see steps commit one by one).
  var transactionBytes = Self.defaultTransactionBytes

  public init(store: CalibrationStore) {
    self.store = store
  }

  /// Checks a new recording's files and recipe as ``record(_:inputs:progress:)`` does before it
  /// writes anything, without a store: a caller that would create the store checks first,
  /// so refused input leaves no new, empty store behind.
  ///
  /// - Returns: the opened inputs, for ``record(_:inputs:progress:)``, which then does not
  ///   read the files' headers again.
  /// - Throws: what ``record(_:inputs:progress:)`` throws for invalid inputs or recipe.
  @discardableResult
  public static func validate(_ request: RecordRequest) throws -> RecordingInputs {
    let inputs = try RecordingInputs(stepFiles: request.stepFiles, weightFiles: request.weightFiles, moduleTypes: request.moduleTypes)
    if let recipe = request.recipe { _ = try plan(recipe, inputs: inputs) }
    return inputs
  }

  private static func plan(_ recipe: (text: String, source: String), inputs: RecordingInputs) throws -> CalibrationPlan {
    try CalibrationPlan(recipe: Recipe(text: recipe.text, source: recipe.source), inputs: inputs)
  }

  /// Records (or resumes) a run.
  ///
  /// - Parameter inputs: the request's files as ``validate(_:)`` opened them; `nil` opens
  ///   them here.
  /// - Throws: ``StoreError``, ``RecipeError``, ``PlanError``, ``InputError``,
  ///   ``FormatError`` or ``ObserverError``; nothing is written when the inputs or recipe
  ///   are invalid, and a run being replaced is untouched unless the new one completes.
  public func record(
    _ request: RecordRequest, inputs opened: RecordingInputs? = nil, progress: (@Sendable (RecordProgress) -> Void)? = nil
  ) throws -> RecordSummary {
    let start = Date()
    let inputs = try opened
      ?? RecordingInputs(stepFiles: request.stepFiles, weightFiles: request.weightFiles, moduleTypes: request.moduleTypes)
    let existing = try existingRun(for: request, inputs: inputs)
    guard let recipeInput = request.recipe ?? existing.flatMap({ r in r.recipe.map { ($0, "recipe of \(r.name)") } })
    else { throw InputError.recipeChanged(run: request.runName) }
    var lifecycle = CalibrationLifecycle(variants: [try Self.plan(recipeInput, inputs: inputs)])
    let replacing = existing != nil && request.replace && !request.resume
    if existing != nil && !request.resume && !replacing { throw StoreError.runAlreadyExists(request.runName) }
    if replacing, let old = existing { try checkReplaceable(old) }

    var run = try openRun(
      request.resume ? existing : nil, name: replacing ? Self.replacementName(of: existing?.id ?? 0) : request.runName,
      recipe: recipeInput.text, request: request)
    var counts = RecordCounts(start: start, steps: inputs.steps.count, progress: progress)
    let warnings: [String]
    do {
      warnings = try calibrate(
        &run, &lifecycle, inputs: inputs, allowNonFinite: request.allowNonFinite, replacing: replacing ? request.runName : nil,
        counts: &counts)
    } catch {
      // The failed step's bytes past the committed end are given back first: on a full
      // disk that is what lets SQLite mark the run failed (and the next command open).
      _ = try? store.givePayloadSpaceBack()
      try? store.pool.write { db in
        try db.execute(sql: "UPDATE run SET status = 'failed', owner = NULL WHERE id = ? AND status = 'in_progress'", arguments: [run.id])
      }
      throw store.translated(error)
    }
    // The replaced run's space; what this cannot give back (a reader is open, or the file
    // system refuses) `calib gc` gives back later, and the replace stands either way.
    if replacing { _ = try? store.givePayloadSpaceBack() }
    return RecordSummary(
      run: request.runName, steps: inputs.steps.count, tensors: counts.tensors, bytes: counts.bytes,
      seconds: Date().timeIntervalSince(start), warnings: warnings)
  }

  /// The run of the request's name, checked for resuming: resumable, same recipe, same
  /// input files; and, after a power loss, set back to the first step whose payloads did
  /// not reach the disk.
  private func existingRun(for request: RecordRequest, inputs: RecordingInputs) throws -> RunRecord? {
    let found = try store.pool.read { db in try store.runRecord(db, named: request.runName) }
    guard request.resume else { return found }
    guard var run = found, let id = run.id else { throw StoreError.runNotFound(request.runName, store: store.path) }
    guard run.kind == .recorded, run.status != .complete else {
      throw StoreError.runNotResumable(run.name, status: run.status.rawValue)
    }
    if let given = request.recipe, given.text != run.recipe { throw InputError.recipeChanged(run: run.name) }
    if run.completedSteps > inputs.steps.count {
      throw InputError.stepFilesChanged(run: run.name, expected: run.completedSteps, given: inputs.steps.count)
    }
    let (recorded, weightModules) = try store.pool.read { db in
      (try store.recordedInputs(db, runID: id), try store.weightSampleModules(db, recordingID: id))
    }
    try InputFingerprint.verify(inputs, against: recorded, weightModules: weightModules, run: run.name)
    let lost = try store.verifyUnsyncedSamples(recordingID: id)
    if lost.contains(where: { $0.baseName == .weight }) {
      run.weightsDone = false
      run.completedSteps = 0
    } else if let first = lost.map(\.step).min() {
      run.completedSteps = min(run.completedSteps, first)
    }
    return run
  }

  /// Refuses to start replacing a run that could not be removed at the end.
  private func checkReplaceable(_ old: RunRecord) throws {
    let dependents = try store.pool.read { db in
      try String.fetchAll(db, sql: "SELECT name FROM run WHERE recordingID = ? AND id != ? ORDER BY id", arguments: [old.id, old.id])
    }
    if !dependents.isEmpty { throw StoreError.runInUse(old.name, dependents: dependents) }
  }

  /// The name a replacement of the run with id `id` is recorded under until it is swapped
  /// in (short, whatever the run's name). A replacement left by a killed command is stale
  /// and is removed by the next one.
  static func replacementName(of id: Int64) -> String { ".replacing-run-\(id)" }

  /// Inserts the run (or reopens a resumed one) in progress, owned by this process.
  private func openRun(_ resumed: RunRecord?, name: String, recipe: String, request: RecordRequest) throws -> RunRecord {
    try store.pool.write { db -> RunRecord in
      var run = resumed ?? RunRecord(name: name, kind: .recorded, recipe: recipe, note: request.note, arithmetic: request.arithmetic)
      if run.id == nil {
        if name != request.runName {
          // Replacements left by killed commands (stale) or failed ones are debris, and so
          // is a complete one: a replacement is renamed as it completes (calib before
          // 2026-12-03 did it in a second transaction, which a kill could miss).
          // A live one of this run's name is another process replacing it.
          for old in try RunRecord.filter(sql: "name LIKE '.replacing-run-%'").fetchAll(db) {
            if old.status != .inProgress || RunOwner.isGone(old.owner) {
              try store.deleteRunRows(db, run: old, force: false)
            } else if old.name == name {
              throw StoreError.runBeingReplaced(request.runName, store: store.path)
            }
          }
        }
        do {
          try run.insert(db)
        } catch let e as DatabaseError where e.resultCode == .SQLITE_CONSTRAINT {
          throw StoreError.runAlreadyExists(request.runName)
        }
      }
      run.status = .inProgress
      run.owner = RunOwner.current
      try db.execute(
        sql: "UPDATE run SET status = 'in_progress', owner = ?, recordingID = id, completedSteps = ?, weightsDone = ? WHERE id = ?",
        arguments: [run.owner, run.completedSteps, run.weightsDone, run.id])
      return run
    }
  }

  /// The lifecycle over the inputs, from where the run stands: the weight phase unless
  /// done, the remaining steps, then the final parameters. A replacement takes the name
  /// `replacing` (removing the run of that name) in the transaction that completes it, so
  /// that no kill leaves a complete replacement beside the old run.
  private func calibrate(
    _ run: inout RunRecord, _ lifecycle: inout CalibrationLifecycle, inputs: RecordingInputs, allowNonFinite: Bool,
    replacing: String?, counts: inout RecordCounts
  ) throws -> [String] {
    let runID = run.id ?? -1
    let moduleIDs = try store.pool.write { db in
      try Dictionary(uniqueKeysWithValues: inputs.modules.map { ($0.name, try store.moduleID(db, name: $0.name, type: $0.type)) })
    }
    let writer = StateWriter(store: store, run: (runID, run.name), moduleIDs: moduleIDs, buffered: true, arithmetic: run.arithmetic)
    if run.weightsDone || run.completedSteps > 0 {
      let states = try store.pool.read { [run] db in try store.latestStates(db, runID: runID, beforeStep: run.completedSteps) }
      for (pair, state, params) in states { lifecycle.restore(variant: 0, pair, state: state, parameters: params) }
    }
    var warnings: [String] = []
    if !run.weightsDone {
      warnings = try recordWeights(&lifecycle, inputs: inputs, writer: writer, counts: &counts)
      run.weightsDone = true
    }
    var lanes = Dictionary(uniqueKeysWithValues: lifecycle.activationLanes().map { ($0.pair, $0) })
    let stepBytes = inputs.steps.map { $0.samples.reduce(0) { $0 + $1.entry.byteCount } }
    for batch in Self.transactions(stepBytes: stepBytes, from: run.completedSteps, limit: transactionBytes) {
      try recordSteps(batch, inputs: inputs, lanes: &lanes, writer: writer, allowNonFinite: allowNonFinite, counts: &counts)
      run.completedSteps = batch.upperBound
    }
    lifecycle.absorb(Array(lanes.values))
    let finals = lifecycle.finish()
    if let warning = Self.uncalibratedWarning(finals[0]) { warnings.append(warning) }
    try store.pool.write { db in
      try store.requireLive(db, runID: runID, name: run.name)
      // Completion promises durable samples: synchronize the segment before marking it.
      try store.synchronizeSamples(db)
      try writer.writeFinal(db, finals)
      try db.execute(sql: "UPDATE run SET status = 'complete', owner = NULL WHERE id = ?", arguments: [runID])
      if let replacing {
        if let old = try store.runRecord(db, named: replacing) { try store.deleteRunRows(db, run: old, force: true) }
        try db.execute(sql: "UPDATE run SET name = ? WHERE id = ?", arguments: [replacing, runID])
      }
    }
    return warnings
  }

  /// One line for the activation observers that received no samples, if any: how many,
  /// and a few of them.
  static func uncalibratedWarning(_ finals: [FinalParameters]) -> String? {
    let missing = finals.filter { !$0.calibrated }.map { "\($0.module).\($0.baseName.rawValue)" }
    guard !missing.isEmpty else { return nil }
    let examples = missing.prefix(3).joined(separator: ", ") + (missing.count > 3 ? ", …" : "")
    return "\(missing.count) activation observer(s) received no samples and stay uncalibrated (\(examples)): "
      + "'calib export' refuses them unless --uncalibrated skip or sibling-max"
  }

  /// The weight phase, in one transaction: every weight a replay may need is stored as a
  /// sample, then the lifecycle calibrates the weights the recipe quantizes.
  private func recordWeights(
    _ lifecycle: inout CalibrationLifecycle, inputs: RecordingInputs, writer: StateWriter, counts: inout RecordCounts
  ) throws -> [String] {
    let (runID, runName) = writer.run
    let arithmetic = writer.arithmetic
    // Weights of quantized modules and of every sampled module are kept, so a replay can
    // quantize weights the recording's recipe left alone.
    let quantized = Set(lifecycle.variants[0].modules.values.filter { $0.scheme.weights != nil }.map(\.name))
    let stored = inputs.storedWeights(quantized: quantized)
    return try store.pool.write { db in
      try store.requireLive(db, runID: runID, name: runName)
      var nonFinite: [String: InputError] = [:]
      var fingerprints = inputs.weightFiles.map { InputFingerprint(path: $0.path, byteCount: $0.fileSize) }
      try store.appendingSamples(db) { appender in
        for name in stored {
          guard let (file, entry) = inputs.weights[name], let moduleID = writer.moduleIDs[name] else { continue }
          try file.withRawBytes(of: entry.name) { raw in
            let (nan, inf) = NonFiniteCount.count(raw, dtype: entry.dtype)
            if nan + inf > 0 { nonFinite[name] = .nonFiniteWeight(file: file.path, key: entry.name, nan: nan, inf: inf) }
            let checksum = XXHash64.hex(raw)
            fingerprints[inputs.weightFileIndex(of: file)].add(entry, checksum: checksum)
            try store.insertSample(
              db, at: try appender.append(raw), recordingID: runID, moduleID: moduleID, baseName: .weight, step: 0, dtype: entry.dtype,
              shape: entry.shape, byteCount: raw.count, checksum: checksum, nanCount: nan, infCount: inf)
            counts.add(tensors: 1, bytes: raw.count)
          }
        }
      }
      try lifecycle.supplyInputImportance { name in
        try Self.inputSamples(of: name, inputs: inputs, arithmetic: arithmetic, run: runName)
      }
      let refused = nonFinite
      let warnings = try lifecycle.calibrateWeights(
        loading: { name in
          if let error = refused[name] { throw error }
          guard let (file, entry) = inputs.weights[name] else { return nil }
          var weight = try file.tensor(entry.name)
          weight.dtype = arithmetic.dtype(forSamplesOf: entry.dtype.modelDType)
          return weight
        }, workers: SerialWork(), sink: writer)
      try writer.flush(db)
      try store.recordInputs(db, runID: runID, role: .weights, fingerprints.enumerated().map { ($0, $1) })
      try db.execute(sql: "UPDATE run SET weightsDone = 1 WHERE id = ?", arguments: [runID])
      return warnings
    }
  }

  /// Sample bytes below which consecutive steps share one transaction, by default.
  ///
  /// Every commit writes the pages it touched to the WAL, and a step's rows touch a leaf
  /// of each index per module (about 140 KB for a step of the MiniLM fixtures, 1 MB of
  /// samples). Steps that small commit together, so that cost stays under 1 % of the bytes
  /// written; a kill loses at most one transaction, which `--resume` records again.
  static let defaultTransactionBytes = 32 << 20

  /// The steps from `first` on, given each step's sample bytes, cut into runs of
  /// consecutive steps that commit together: each ends at the first step that brings its
  /// bytes to `limit`, or at the last step.
  static func transactions(stepBytes: [Int], from first: Int, limit: Int) -> [Range<Int>] {
    var batches: [Range<Int>] = []
    var start = first
    var bytes = 0
    for index in first..<max(first, stepBytes.count) {
      bytes += stepBytes[index]
      if bytes >= limit || index == stepBytes.count - 1 {
        batches.append(start..<(index + 1))
        start = index + 1
        bytes = 0
      }
    }
    return batches
  }

  /// Consecutive steps, in one transaction: every tensor of their files is stored as a
  /// sample and, when a lane watches it, observed.
  private func recordSteps(
    _ batch: Range<Int>, inputs: RecordingInputs, lanes: inout [PairKey: ActivationLane], writer: StateWriter,
    allowNonFinite: Bool, counts: inout RecordCounts
  ) throws {
    let (runID, runName) = writer.run
    try store.pool.write { db in
      try store.requireLive(db, runID: runID, name: runName)
      var fingerprints: [(Int, InputFingerprint)] = []
      try store.appendingSamples(db) { appender in
        for stepIndex in batch {
          for index in inputs.steps[stepIndex].files {
            let fingerprint = try recordStepFile(
              inputs.stepFiles[index], step: stepIndex, into: &appender, db: db, lanes: &lanes, writer: writer,
              allowNonFinite: allowNonFinite, counts: &counts)
            fingerprints.append((index, fingerprint))
          }
        }
      }
      try writer.flush(db)
      try store.recordInputs(db, runID: runID, role: .step, fingerprints)
      try db.execute(sql: "UPDATE run SET completedSteps = ? WHERE id = ?", arguments: [batch.upperBound, runID])
    }
  }

  /// One file of a step: its payloads are copied file to file in the background, back to
  /// back in entry order, while this thread checksums, counts and observes them.
  ///
  /// - Returns: the file's fingerprint.
  private func recordStepFile(
    _ file: SafetensorsFile, step stepIndex: Int, into appender: inout SegmentAppender, db: Database,
    lanes: inout [PairKey: ActivationLane], writer: StateWriter, allowNonFinite: Bool, counts: inout RecordCounts
  ) throws -> InputFingerprint {
    var fingerprint = InputFingerprint(path: file.path, byteCount: file.fileSize)
    // The payloads are read twice, once here and once by the copy: a file rewritten in
    // between would be stored under checksums of other bytes, so it must not change.
    let identity = FileIdentity(path: file.path)
    let entries = file.entries
    let offsets = entries.map { appender.reserve($0.byteCount) }
    let segment = appender.segment
    let ranges = entries.map { (file.dataStart + $0.byteRange.lowerBound)..<(file.dataStart + $0.byteRange.upperBound) }
    let (source, offset) = (file.path, offsets.first ?? appender.end)
    let copy = BackgroundWork(on: BackgroundWork.copies) { try segment.copy(from: source, ranges: ranges, to: offset) }
    // The copy is waited for on every path: it writes into space this step reserved.
    defer { try? copy.wait() }
    try file.forEachRawBytes(of: entries) { index, raw in
      let entry = entries[index]
      let pair = try SampleKey.pair(entry.name, file: file.path)
      // A tensor an observer will see is read and its range taken first; a finite range
      // means no NaN or ±∞, so only the others are scanned for them.
      let observed = lanes[pair] == nil ? nil : Self.observedTensor(
        raw, entry: entry, dtype: writer.arithmetic.dtype(forSamplesOf: entry.dtype.modelDType))
      let (nan, inf) = observed?.knownRange?.isFinite == true ? (0, 0) : NonFiniteCount.count(raw, dtype: entry.dtype)
      if nan + inf > 0 && !allowNonFinite {
        throw InputError.nonFinite(file: file.path, key: entry.name, nan: nan, inf: inf)
      }
      let checksum = XXHash64.hex(raw)
      fingerprint.add(entry, checksum: checksum)
      try store.insertSample(
        db, at: offsets[index], recordingID: writer.run.id, moduleID: writer.moduleIDs[pair.module] ?? -1, baseName: pair.base,
        step: stepIndex, dtype: entry.dtype, shape: entry.shape, byteCount: raw.count, checksum: checksum, nanCount: nan,
        infCount: inf)
      if nan + inf == 0, var lane = lanes[pair], let observed {
        try writer.record(try lane.observe(observed, step: stepIndex))
        lanes[pair] = lane
      }
      counts.add(tensors: 1, bytes: entry.byteCount, step: stepIndex + 1)
    }
    try copy.wait()
    if identity == nil || FileIdentity(path: file.path) != identity {
      throw InputError.changedWhileRecording(file: file.path)
    }
    return fingerprint
  }

  /// The tensor an observer sees for `raw`, in `dtype` arithmetic, with the range of its
  /// values: a bf16 or f16 tensor keeps a copy of its raw bits (two bytes per element,
  /// reduced as they are by min/max observers); other dtypes are decoded to float32.
  private static func observedTensor(_ raw: UnsafeRawBufferPointer, entry: TensorEntry, dtype: FloatDType) -> Tensor {
    #if _endian(little)
      if let format = entry.dtype.halfFormat(arithmetic: dtype) {
        let count = raw.count / 2
        let bits = [UInt16](unsafeUninitializedCapacity: count) { out, initialized in
          UnsafeMutableRawBufferPointer(out).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<(count * 2)]))
          initialized = count
        }
        let range = bits.withUnsafeBufferPointer { ValueRange(ofHalfBits: $0, format) }
        return Tensor(shape: entry.shape, halfBits: bits, format, dtype: dtype, knownRange: range)
      }
    #endif
    let values = entry.dtype.decode(raw)
    let range = values.withUnsafeBufferPointer { ValueRange(raw: raw, dtype: entry.dtype, decoded: $0) }
    return Tensor(shape: entry.shape, values: values, dtype: dtype, knownRange: range)
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
