import CalibCore
import Foundation
internal import GRDB

/// One (module, base name) of a run, at one step or final: observer, arguments, running
/// statistics and parameters.
public struct QParamsEntry: Sendable, Equatable {
  public var module: String
  public var moduleType: String?
  public var baseName: BaseName
  /// The step, or `nil` for final parameters.
  public var step: Int?
  public var observer: String?
  public var kwargs: [String: ObserverKwarg]
  /// compressed-tensors JSON of the arguments (final entries only).
  public var argsJSON: String?
  public var state: ObserverState
  public var parameters: ModuleParameters
  /// `false` for an activation whose observer received no samples (final entries only).
  public var calibrated = true
}

extension CalibrationStore {
  static func stateRecord(_ s: ObserverSnapshot, runID: Int64, moduleID: Int64, step: Int) -> ObserverStateRecord {
    ObserverStateRecord(
      runID: runID, moduleID: moduleID, baseName: s.baseName.rawValue, step: step,
      observer: s.observer?.rawValue, kwargs: KwargsJSON.encode(s.kwargs),
      minShape: s.state.minValues.map { TensorBlob.shapeText($0.shape) },
      minValues: s.state.minValues.map { TensorBlob.data($0.values) },
      maxValues: s.state.maxValues.map { TensorBlob.data($0.values) },
      globalRange: s.state.globalMin.flatMap { mn in s.state.globalMax.map { TensorBlob.data([mn, $0]) } },
      scaleShape: s.parameters.scale.map { TensorBlob.shapeText($0.shape) },
      scale: s.parameters.scale.map { TensorBlob.data($0.values) },
      zeroPointDType: s.parameters.zeroPointDType?.rawValue,
      zeroPoint: s.parameters.zeroPoint.map { TensorBlob.data($0.values) },
      globalScale: s.parameters.globalScale.map { TensorBlob.data([$0]) },
      scaleDType: s.parameters.scale?.dtype.torchName,
      rangeDType: (s.state.minValues?.dtype ?? (s.state.globalMin != nil ? s.state.globalDType : nil))?.torchName,
      histogram: s.state.histogram.map { Data($0.encoded()) }, sweep: s.state.sweep.map { Data($0.encoded()) })
  }

  static func decodeState(_ row: Row) throws -> (ObserverState, ModuleParameters) {
    let minShape: String? = row["minShape"]
    let range = (row["globalRange"] as Data?).map(TensorBlob.values)
    let rangeDType: String? = row["rangeDType"]
    let state = ObserverState(
      minValues: TensorBlob.tensor(shape: minShape, data: row["minValues"], dtype: rangeDType),
      maxValues: TensorBlob.tensor(shape: minShape, data: row["maxValues"], dtype: rangeDType),
      globalMin: range?.first, globalMax: range?.last,
      globalDType: rangeDType.flatMap(TorchDType.init(name:)).flatMap(FloatDType.init) ?? .float32,
      histogram: try (row["histogram"] as Data?).map { try CalibrationHistogram(decoding: [UInt8]($0)) },
      sweep: try (row["sweep"] as Data?).map { try MSESweepState(decoding: [UInt8]($0)) })
    let scaleShape: String? = row["scaleShape"]
    let params = ModuleParameters(
      scale: TensorBlob.tensor(shape: scaleShape, data: row["scale"], dtype: row["scaleDType"]),
      zeroPoint: TensorBlob.tensor(shape: scaleShape, data: row["zeroPoint"]),
      zeroPointDType: (row["zeroPointDType"] as String?).flatMap(TorchDType.init(rawValue:)),
      globalScale: (row["globalScale"] as Data?).flatMap { TensorBlob.values($0).first })
    return (state, params)
  }

  /// The final parameters of a run, ordered by module and base name.
  public func finalQParams(ofRun name: String) throws -> [QParamsEntry] {
    try pool.read { db in try fetchFinalQParams(db, runID: try requireRun(db, named: name).id ?? -1) }
  }

  /// The final parameters of the run with id `runID`, ordered by module and base name, read
  /// in the caller's transaction (so they agree with whatever else it reads).
  func fetchFinalQParams(_ db: Database, runID: Int64) throws -> [QParamsEntry] {
    let rows = try Row.fetchAll(
      db,
      sql: """
        SELECT q.*, m.name AS module, m.type AS moduleType FROM qparams q
        JOIN module m ON m.id = q.moduleID WHERE q.runID = ? ORDER BY m.name, q.baseName
        """, arguments: [runID])
    return try rows.compactMap { row in
      guard let base = BaseName(rawValue: row["baseName"]) else { return nil }
      let (_, params) = try Self.decodeState(row)
      return QParamsEntry(
        module: row["module"], moduleType: row["moduleType"], baseName: base, step: nil,
        observer: row["observer"], kwargs: [:], argsJSON: row["args"], state: ObserverState(),
        parameters: params, calibrated: (row["calibrated"] as Bool?) ?? true)
    }.sorted { ($0.module, $0.baseName) < ($1.module, $1.baseName) }
  }

  /// The per-step observer states of a run, ordered by module, base name and step.
  public func stepStates(ofRun name: String) throws -> [QParamsEntry] {
    try pool.read { db in
      let run = try requireRun(db, named: name)
      return try fetchStepStates(db, runID: run.id ?? -1)
    }
  }

  func fetchStepStates(_ db: Database, runID: Int64) throws -> [QParamsEntry] {
    let rows = try Row.fetchAll(
      db,
      sql: """
        SELECT o.*, m.name AS module, m.type AS moduleType FROM observerState o
        JOIN module m ON m.id = o.moduleID WHERE o.runID = ? ORDER BY m.name, o.baseName, o.step
        """, arguments: [runID])
    return try rows.compactMap { row in
      guard let base = BaseName(rawValue: row["baseName"]) else { return nil }
      let (state, params) = try Self.decodeState(row)
      return QParamsEntry(
        module: row["module"], moduleType: row["moduleType"], baseName: base, step: row["step"],
        observer: row["observer"], kwargs: KwargsJSON.decode(row["kwargs"]), argsJSON: nil,
        state: state, parameters: params)
    }.sorted { ($0.module, $0.baseName, $0.step ?? 0) < ($1.module, $1.baseName, $1.step ?? 0) }
  }

  func writeFinal(_ db: Database, runID: Int64, moduleID: Int64, _ final: FinalParameters) throws {
    let p = final.parameters
    let argsJSON = String(decoding: try JSONEncoder.sorted.encode(final.args), as: UTF8.self)
    try QParamsRecord(
      runID: runID, moduleID: moduleID, baseName: final.baseName.rawValue, observer: final.observer.rawValue, args: argsJSON,
      scaleShape: p.scale.map { TensorBlob.shapeText($0.shape) },
      scale: p.scale.map { TensorBlob.data($0.values) }, zeroPointDType: p.zeroPointDType?.rawValue,
      zeroPoint: p.zeroPoint.map { TensorBlob.data($0.values) },
      globalScale: p.globalScale.map { TensorBlob.data([$0]) }, scaleDType: p.scale?.dtype.torchName, calibrated: final.calibrated
    ).insert(db, onConflict: .replace)
  }

  /// The latest recorded state of each (module, base name) of a run before `beforeStep`
  /// (weights: their step-0 state), to resume a recording from there.
  func latestStates(_ db: Database, runID: Int64, beforeStep: Int) throws -> [(PairKey, ObserverState, ModuleParameters)] {
    let rows = try Row.fetchAll(
      db,
      sql: """
        SELECT o.*, m.name AS module FROM observerState o JOIN module m ON m.id = o.moduleID
        WHERE o.runID = ? AND (o.baseName = 'weight' OR o.step < ?)
        ORDER BY o.step
        """, arguments: [runID, beforeStep])
    return try rows.compactMap { row in
      guard let base = BaseName(rawValue: row["baseName"]) else { return nil }
      let (state, params) = try Self.decodeState(row)
      return (PairKey(module: row["module"], base: base), state, params)
    }
  }
}

/// `observer_kwargs` as sorted JSON text.
enum KwargsJSON {
  static func encode(_ kwargs: [String: ObserverKwarg]) -> String {
    (try? JSONEncoder.sorted.encode(kwargs)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
  }

  static func decode(_ text: String?) -> [String: ObserverKwarg] {
    guard let text, let data = text.data(using: .utf8) else { return [:] }
    return (try? JSONDecoder().decode([String: ObserverKwarg].self, from: data)) ?? [:]
  }
}

extension JSONEncoder {
  /// An encoder with sorted keys, for stable stored JSON.
  static var sorted: JSONEncoder {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return e
  }
}
