import CalibCore
import CalibLifecycle
import Foundation
internal import GRDB
import Synchronization

/// The quantization error of several runs' final parameters for one (module, base name),
/// measured on the same stored samples.
public struct PairErrors: Sendable {
  public var module: String
  public var baseName: BaseName
  /// The run whose recording supplied the samples (`nil`: no run has samples for it).
  public var samplesFrom: String?
  /// Error per run name; runs without parameters (or arguments) for the pair are absent.
  /// ``QuantizationError/sqnr`` is the SQNR in dB, ``QuantizationError/meanSquaredError``
  /// the MSE, both over all the pair's finite samples.
  public var errors: [String: QuantizationError]

  public init(module: String, baseName: BaseName, samplesFrom: String?, errors: [String: QuantizationError]) {
    self.module = module
    self.baseName = baseName
    self.samplesFrom = samplesFrom
    self.errors = errors
  }
}

extension CalibrationStore {
  /// Measures every run's final parameters on stored samples, per (module, base name).
  ///
  /// The samples come from the first run (in the order given) whose recording holds
  /// samples for the pair, so every run is measured on the same data. Samples recorded
  /// with non-finite values are skipped. A run without stored arguments (an import
  /// without a quantization config) is measured with another run's arguments for the pair.
  ///
  /// Pairs are measured in parallel on up to `threads` workers; each reads its pair's
  /// samples one step at a time into one reused buffer, so memory stays at about one
  /// sample per worker (as in a replay), and adds each step's error sums in step order, so
  /// the numbers do not depend on `threads`. The payload file is read under
  /// ``readingPayloads(_:)`` and the runs' parameters and sample index are read in one
  /// transaction, so a run removed (or recorded again) meanwhile is measured as it was or
  /// reported, never measured on another recording's bytes.
  ///
  /// For example:
  /// ```swift
  /// for pair in try store.quantizationErrors(runs: ["w8a8", "w8a8-mse"], threads: 4) {
  ///   print(pair.module, pair.baseName, pair.errors["w8a8"]?.sqnr ?? .nan)
  /// }
  /// ```
  ///
  /// - Parameters:
  ///   - names: the runs to measure; all must be complete.
  ///   - include: which (module, base name) pairs to measure.
  ///   - threads: workers measuring pairs (at least 1).
  /// - Returns: one entry per pair any run has final parameters for, sorted by module and
  ///   base name.
  /// - Throws: ``StoreError/runNotFound(_:store:)``,
  ///   ``StoreError/runIncomplete(_:status:store:)``, or
  ///   ``StoreError/corruptSample(module:baseName:step:reason:)``.
  public func quantizationErrors(
    runs names: [String], include: (String, BaseName) -> Bool = { _, _ in true },
    threads: Int = ProcessInfo.processInfo.activeProcessorCount
  ) throws -> [PairErrors] {
    try readingPayloads {
      let snapshot = try pool.read { db in try MeasurementSnapshot(db, store: self, runs: names) }
      return try measure(snapshot, include: include, threads: threads)
    }
  }

  /// Measures the pairs of `snapshot` that `include` selects on `threads` workers; to be
  /// called under ``readingPayloads(_:)``, which must have been entered before the
  /// snapshot was read.
  func measure(_ snapshot: MeasurementSnapshot, include: (String, BaseName) -> Bool, threads: Int) throws
    -> [PairErrors]
  {
    let jobs = snapshot.pairs(including: include).map(snapshot.job(for:))
    let results = Mutex([PairErrors?](repeating: nil, count: jobs.count))
    try ParallelWork(threads: threads).forEach(jobs.count) { i in
      let errors = try jobs[i].measure(in: self)
      results.withLock { $0[i] = errors }
    }
    return results.withLock { $0.compactMap { $0 } }
  }

  static func decodeArgs(_ json: String?) -> QuantizationArgs? {
    guard let json, let data = json.data(using: .utf8) else { return nil }
    return try? JSONDecoder().decode(QuantizationArgs.self, from: data)
  }
}
