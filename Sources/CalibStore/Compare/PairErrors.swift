import CalibCore
import Foundation
internal import GRDB

/// The quantization error of several runs' final parameters for one (module, base name),
/// measured on the same stored samples.
public struct PairErrors: Sendable {
  public var module: String
  public var baseName: BaseName
  /// The run whose recording supplied the samples (`nil`: no run has samples for it).
  public var samplesFrom: String?
  /// Error per run name; runs without parameters (or arguments) for the pair are absent.
  public var errors: [String: QuantizationError]
}

extension CalibrationStore {
  /// Measures every run's final parameters on stored samples, per (module, base name).
  ///
  /// The samples come from the first run (in the order given) whose recording holds
  /// samples for the pair, so every run is measured on the same data. Samples recorded
  /// with non-finite values are skipped. A run without stored arguments (an import
  /// without a quantization config) is measured with another run's arguments for the pair.
  public func quantizationErrors(
    runs names: [String], include: (String, BaseName) -> Bool = { _, _ in true }
  ) throws -> [PairErrors] {
    let finals = try names.map { try finalQParams(ofRun: $0) }
    let recordings = try pool.read { db in try names.map { try requireRun(db, named: $0) }.map { $0.recordingID } }
    var sampleSets: [Int64: [PairKey: [SampleInfo]]] = [:]
    for case let id? in recordings where sampleSets[id] == nil {
      let samples = try pool.read { db in try fetchSamples(db, recordingID: id) }
      sampleSets[id] = Dictionary(grouping: samples) { PairKey(module: $0.module, base: $0.baseName) }
    }
    var pairs = Set<PairKey>()
    for f in finals { for e in f where include(e.module, e.baseName) { pairs.insert(PairKey(module: e.module, base: e.baseName)) } }
    var result: [PairErrors] = []
    for pair in pairs.sorted() {
      var source: (String, [SampleInfo])?
      for (i, id) in recordings.enumerated() {
        if let id, let s = sampleSets[id]?[pair], !s.isEmpty {
          source = (names[i], s)
          break
        }
      }
      let entries = finals.map { $0.first { $0.module == pair.module && $0.baseName == pair.base } }
      let fallbackArgs = entries.compactMap { $0.flatMap { Self.decodeArgs($0.argsJSON) } }.first
      var errors: [String: QuantizationError] = [:]
      if let (_, samples) = source {
        let values = try samples.filter { !$0.isNonFinite }.sorted { $0.step < $1.step }.map { try sampleTensor($0) }
        for (i, entry) in entries.enumerated() {
          guard let entry, let args = Self.decodeArgs(entry.argsJSON) ?? fallbackArgs else { continue }
          var total = QuantizationError()
          let p = entry.parameters
          let qparams = p.scale.map {
            QuantizationParameters(scale: $0, zeroPoint: p.zeroPoint ?? Tensor(shape: $0.shape, repeating: 0), zeroPointDType: p.zeroPointDType ?? args.zpDType)
          }
          if qparams == nil && !args.dynamic.isDynamic { continue }
          for v in values {
            let e = try QuantizationError.of(v, as: pair.base, args: args, parameters: args.dynamic.isDynamic ? nil : qparams, globalScale: p.globalScale)
            total.add(e)
          }
          errors[names[i]] = total
        }
      }
      result.append(PairErrors(module: pair.module, baseName: pair.base, samplesFrom: source?.0, errors: errors))
    }
    return result
  }

  static func decodeArgs(_ json: String?) -> QuantizationArgs? {
    guard let json, let data = json.data(using: .utf8) else { return nil }
    return try? JSONDecoder().decode(QuantizationArgs.self, from: data)
  }
}
