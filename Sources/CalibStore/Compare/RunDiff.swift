import CalibCore
import Foundation

/// How a (module, base name) compares between two runs.
public enum DiffStatus: String, Sendable, CaseIterable, Codable {
  case same
  case changed
  case onlyInA = "only in A"
  case onlyInB = "only in B"
  case shapeMismatch = "shape mismatch"
  /// Neither run calibrated it: its observer received no samples in either (an MoE expert
  /// no token was routed to); there are no parameters to compare.
  case uncalibrated
  /// Run A did not calibrate it (no samples reached its observer), run B did.
  case uncalibratedInA = "uncalibrated in A"
  /// Run B did not calibrate it, run A did.
  case uncalibratedInB = "uncalibrated in B"

  /// Whether the row shows the runs differ (everything but `same` and `uncalibrated`,
  /// where both runs agree that there is nothing).
  public var isDifference: Bool { self != .same && self != .uncalibrated }
}

/// One row of `calib diff`: a (module, base name) of run A against run B.
public struct DiffRow: Sendable {
  public var module: String
  public var baseName: BaseName
  public var status: DiffStatus
  public var observerA: String?
  public var observerB: String?
  /// Argument fields that differ (`field: a -> b`).
  public var argumentDifferences: [String]
  public var argsA: QuantizationArgs?
  public var argsB: QuantizationArgs?
  public var shapeA: [Int]?
  public var shapeB: [Int]?
  /// max |scale_B - scale_A| (nil without both scales of one shape).
  public var maxAbsoluteScaleDelta: Double?
  /// max |scale_B - scale_A| / max(|scale_A|, |scale_B|).
  public var maxRelativeScaleDelta: Double?
  /// mean of scale_B / scale_A over nonzero scale_A.
  public var meanScaleRatio: Double?
  /// Number of zero points that differ.
  public var zeroPointDifferences: Int?
  public var globalScaleA: Float?
  public var globalScaleB: Float?
  /// Quantization error on the stored samples (with `metrics`).
  public var errorA: QuantizationError?
  public var errorB: QuantizationError?

  /// "A", "B" or "tie" by SQNR (nil without both errors).
  public var winner: String? {
    guard let a = errorA?.sqnr, let b = errorB?.sqnr, !a.isNaN, !b.isNaN else { return nil }
    return a == b ? "tie" : (a > b ? "A" : "B")
  }
}

/// Tolerances for what counts as the same: `|b - a| ≤ atol + rtol · |a|` for scales and
/// global scales (NaN equals NaN); zero points must be equal.
public struct DiffTolerance: Sendable {
  public var relative: Double
  public var absolute: Double

  public init(relative: Double = 0, absolute: Double = 0) {
    self.relative = relative
    self.absolute = absolute
  }

  func close(_ a: Float, _ b: Float) -> Bool {
    if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
    if a == b { return true }
    return Double(abs(b - a)) <= absolute + relative * Double(abs(a))
  }
}

extension CalibrationStore {
  /// Compares the final parameters of two runs, one row per (module, base name) in either.
  ///
  /// Both runs' parameters are read in one transaction. With `metrics`, each row also
  /// carries both runs' quantization error on the stored samples, measured as
  /// ``quantizationErrors(runs:include:threads:)`` does (streamed a step at a time on
  /// `threads` workers, under the payload reader lock) from the same transaction as the
  /// parameters the row compares.
  ///
  /// - Throws: ``StoreError/runNotFound(_:store:)``; with `metrics` also
  ///   ``StoreError/runIncomplete(_:status:store:)`` and
  ///   ``StoreError/corruptSample(module:baseName:step:reason:)``.
  public func diff(
    _ runA: String, _ runB: String, tolerance: DiffTolerance = DiffTolerance(), metrics: Bool = false,
    include: (String, BaseName) -> Bool = { _, _ in true }, threads: Int = ProcessInfo.processInfo.activeProcessorCount
  ) throws -> [DiffRow] {
    guard metrics else {
      let (a, b) = try pool.read { db in
        (try fetchFinalQParams(db, runID: try requireRun(db, named: runA).id ?? -1),
          try fetchFinalQParams(db, runID: try requireRun(db, named: runB).id ?? -1))
      }
      return Self.diffRows(a, b, runs: (runA, runB), tolerance: tolerance, errors: [], include: include)
    }
    return try readingPayloads {
      let snapshot = try pool.read { db in try MeasurementSnapshot(db, store: self, runs: [runA, runB]) }
      let errors = try measure(snapshot, include: include, threads: threads)
      return Self.diffRows(
        snapshot.finals[0], snapshot.finals[1], runs: (runA, runB), tolerance: tolerance, errors: errors, include: include)
    }
  }

  /// One row per (module, base name) that `include` selects in either run's parameters.
  private static func diffRows(
    _ a: [QParamsEntry], _ b: [QParamsEntry], runs: (a: String, b: String), tolerance: DiffTolerance,
    errors measured: [PairErrors], include: (String, BaseName) -> Bool
  ) -> [DiffRow] {
    func byKey(_ entries: [QParamsEntry]) -> [PairKey: QParamsEntry] {
      Dictionary(
        entries.filter { include($0.module, $0.baseName) }.map { (PairKey(module: $0.module, base: $0.baseName), $0) },
        uniquingKeysWith: { x, _ in x })
    }
    let (byKeyA, byKeyB) = (byKey(a), byKey(b))
    let errors = Dictionary(measured.map { (PairKey(module: $0.module, base: $0.baseName), $0) }, uniquingKeysWith: { x, _ in x })
    return Set(byKeyA.keys).union(byKeyB.keys).sorted().map { key in
      var row = compare(byKeyA[key], byKeyB[key], key: key, tolerance: tolerance)
      row.errorA = errors[key]?.errors[runs.a]
      row.errorB = errors[key]?.errors[runs.b]
      return row
    }
  }

  static func compare(_ a: QParamsEntry?, _ b: QParamsEntry?, key: PairKey, tolerance: DiffTolerance) -> DiffRow {
    let argsA = decodeArgs(a?.argsJSON)
    let argsB = decodeArgs(b?.argsJSON)
    var row = DiffRow(
      module: key.module, baseName: key.base, status: .same, observerA: a?.observer, observerB: b?.observer,
      argumentDifferences: argsA.flatMap { x in argsB.map { $0.differences(from: x) } } ?? [],
      argsA: argsA, argsB: argsB,
      shapeA: a?.parameters.scale?.shape, shapeB: b?.parameters.scale?.shape,
      globalScaleA: a?.parameters.globalScale, globalScaleB: b?.parameters.globalScale)
    guard let a else {
      row.status = .onlyInB
      return row
    }
    guard let b else {
      row.status = .onlyInA
      return row
    }
    switch (a.calibrated, b.calibrated) {
    case (false, false): row.status = .uncalibrated
    case (false, true): row.status = .uncalibratedInA
    case (true, false): row.status = .uncalibratedInB
    case (true, true): break
    }
    if row.status != .same { return row }
    var same = true
    switch (a.parameters.scale, b.parameters.scale) {
    case (nil, nil): break
    case (let sa?, let sb?) where sa.shape == sb.shape:
      var maxAbs = 0.0
      var maxRel = 0.0
      var ratio = 0.0
      var ratios = 0
      for (x, y) in zip(sa.values, sb.values) {
        if !tolerance.close(x, y) { same = false }
        let d = Double(abs(y - x))
        if d.isNaN { continue }
        maxAbs = max(maxAbs, d)
        let m = Double(max(abs(x), abs(y)))
        if m > 0 { maxRel = max(maxRel, d / m) }
        if x != 0 && x.isFinite && y.isFinite {
          ratio += Double(y) / Double(x)
          ratios += 1
        }
      }
      row.maxAbsoluteScaleDelta = maxAbs
      row.maxRelativeScaleDelta = maxRel
      row.meanScaleRatio = ratios > 0 ? ratio / Double(ratios) : nil
      let za = a.parameters.zeroPoint?.values ?? Array(repeating: 0, count: sa.elementCount)
      let zb = b.parameters.zeroPoint?.values ?? Array(repeating: 0, count: sb.elementCount)
      let differing = zip(za, zb).filter { $0.bitPattern != $1.bitPattern && !($0 == 0 && $1 == 0) }.count
      row.zeroPointDifferences = differing
      if differing > 0 { same = false }
    case (.some, .some):
      row.status = .shapeMismatch
      return row
    default:
      same = false
    }
    switch (a.parameters.globalScale, b.parameters.globalScale) {
    case (nil, nil): break
    case (let ga?, let gb?): if !tolerance.close(ga, gb) { same = false }
    default: same = false
    }
    row.status = same ? .same : .changed
    return row
  }
}
