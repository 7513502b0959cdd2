import CalibCharts
import CalibCore
import CalibStore
import Foundation

/// Everything `calib report` shows, gathered from the store before any HTML is written.
///
/// Samples are streamed one at a time (two passes per pair: finite range, then bins), so
/// memory holds one sample, the runs' final parameters and their per-step states.
struct ReportModel {
  /// A run in the header.
  struct Run {
    var summary: RunSummary
    /// The recipe differences from the parent, as `replay` prints them.
    var differences: [String]
  }

  /// One run's side of a (module, base name).
  struct Side {
    var observer: String?
    var calibrated: Bool
    var scale: Tensor?
    var globalScale: Float?
    /// The widest dequantized range over channels, `(q_min - zp) · s` to `(q_max - zp) · s`
    /// with `s = scale / global_scale` when there is a global scale.
    var clipping: (lower: Double, upper: Double)?
    var error: QuantizationError?
    /// Per-step (running min, running max, mean scale), for activation observers.
    var steps: [(step: Int, min: Double, max: Double, scale: Double)]
  }

  /// A (module, base name) row of the heatmap, with its detail.
  struct Pair {
    var module: String
    var baseName: BaseName
    var group: String
    var samplesFrom: String?
    /// One entry per report run, in the order given (`nil`: the run has no parameters).
    var sides: [Side?]
    /// Runs best first, as `rank` orders them.
    var ranking: [String]
    var sampleHistogram: HistogramBins?
    var sampleCount: Int
    var nonFiniteSamples: Int
    /// The largest relative difference of each run's scales from the first run's (`nil`
    /// when either has no scale or the shapes differ).
    var scaleDifference: [Double?]
  }

  var store: String
  var runs: [Run]
  var pairs: [Pair]
  var rtol: Double

  /// The layer a module belongs to: its name up to the first all-digit component
  /// (`encoder.layer.0` for `encoder.layer.0.attention.self`), else its parent's name.
  static func group(of module: String) -> String {
    let parts = module.split(separator: ".", omittingEmptySubsequences: false)
    if let i = parts.firstIndex(where: { !$0.isEmpty && $0.allSatisfy(\.isNumber) }) {
      return parts[...i].joined(separator: ".")
    }
    return parts.count > 1 ? parts.dropLast().joined(separator: ".") : module
  }

  /// Reads the runs, their parameters and states, the shared errors and the samples.
  static func load(
    store path: String, runs names: [String], include: @escaping (String, BaseName) -> Bool, rtol: Double,
    sampleBins: Int = 60
  ) throws -> ReportModel {
    let store = try CalibrationStore(path: path, readOnly: true)
    let runs = try names.map { name -> Run in
      let s = try store.run(named: name)
      let differences = s.settingsDiff.flatMap { $0.data(using: .utf8) }
        .flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String] } ?? []
      return Run(summary: s, differences: differences)
    }
    let metrics = try ReportMetrics.measure(store, runs: names, include: include)
    var finals: [[PairKey: QParamsEntry]] = []
    var steps: [[PairKey: [(step: Int, min: Double, max: Double, scale: Double)]]] = []
    var keys = Set<PairKey>()
    for name in names {
      var f: [PairKey: QParamsEntry] = [:]
      for e in try store.finalQParams(ofRun: name) where include(e.module, e.baseName) {
        f[PairKey(module: e.module, base: e.baseName)] = e
      }
      keys.formUnion(f.keys)
      finals.append(f)
      var t: [PairKey: [(step: Int, min: Double, max: Double, scale: Double)]] = [:]
      for e in try store.stepStates(ofRun: name) where e.baseName != .weight && include(e.module, e.baseName) {
        t[PairKey(module: e.module, base: e.baseName), default: []].append(trajectoryPoint(e))
      }
      steps.append(t)
    }
    var samplesByRecording: [String: [PairKey: [SampleInfo]]] = [:]
    var pairs: [Pair] = []
    try store.readingPayloads {
      for key in keys.sorted(by: order) {
        let measured = metrics[key]
        let errors = measured?.errors ?? [:]
        var sides: [Side?] = []
        for (i, name) in names.enumerated() {
          guard let e = finals[i][key] else {
            sides.append(nil)
            continue
          }
          sides.append(
            Side(
              observer: e.observer, calibrated: e.calibrated, scale: e.parameters.scale, globalScale: e.parameters.globalScale,
              clipping: clippingRange(e), error: errors[name], steps: steps[i][key] ?? []))
        }
        var pair = Pair(
          module: key.module, baseName: key.base, group: group(of: key.module), samplesFrom: measured?.samplesFrom,
          sides: sides, ranking: measured?.ranking ?? [], sampleHistogram: nil, sampleCount: 0,
          nonFiniteSamples: 0, scaleDifference: sides.map { relativeDifference($0?.scale, sides.first??.scale) })
        if let source = measured?.samplesFrom {
          if samplesByRecording[source] == nil {
            samplesByRecording[source] = Dictionary(grouping: try store.samples(ofRecording: source)) {
              PairKey(module: $0.module, base: $0.baseName)
            }
          }
          let samples = (samplesByRecording[source]?[key] ?? []).sorted { $0.step < $1.step }
          pair.nonFiniteSamples = samples.filter(\.isNonFinite).count
          let used = samples.filter { !$0.isNonFinite }
          pair.sampleCount = used.count
          if !used.isEmpty { pair.sampleHistogram = try histogram(of: used, in: store, bins: sampleBins) }
        }
        pairs.append(pair)
      }
    }
    return ReportModel(store: path, runs: runs, pairs: pairs, rtol: rtol)
  }

  /// Layer order: group, then module, then base name, so that layer 10 follows layer 9.
  static func order(_ a: PairKey, _ b: PairKey) -> Bool {
    let (ga, gb) = (group(of: a.module), group(of: b.module))
    if ga != gb { return ga.compare(gb, options: .numeric) == .orderedAscending }
    if a.module != b.module { return a.module.compare(b.module, options: .numeric) == .orderedAscending }
    return a.base < b.base
  }

  /// Two passes over the samples, one at a time: their finite range, then the counts. The
  /// range is the one the store took while decoding, unless a sample holds NaN or ±∞.
  static func histogram(of samples: [SampleInfo], in store: CalibrationStore, bins: Int) throws -> HistogramBins {
    var lo = Float.infinity
    var hi = -Float.infinity
    for s in samples {
      let t = try store.sampleTensor(s)
      if let known = t.knownRange, known.min.isFinite && known.max.isFinite {
        (lo, hi) = (min(lo, known.min), max(hi, known.max))
        continue
      }
      for v in t.values where v.isFinite {
        lo = min(lo, v)
        hi = max(hi, v)
      }
    }
    if lo > hi { (lo, hi) = (0, 0) }
    var h = HistogramBins(lowerBound: Double(lo), upperBound: Double(hi), binCount: bins)
    for s in samples {
      let t = try store.sampleTensor(s)
      t.values.withUnsafeBufferPointer { h.add($0) }
    }
    return h
  }

  static func trajectoryPoint(_ e: QParamsEntry) -> (step: Int, min: Double, max: Double, scale: Double) {
    let st = e.state
    let lo = st.globalMin.map(Double.init) ?? st.minValues.map { finiteExtreme($0.values, min) } ?? .nan
    let hi = st.globalMax.map(Double.init) ?? st.maxValues.map { finiteExtreme($0.values, max) } ?? .nan
    let scale = e.parameters.scale.map { mean($0.values) } ?? .nan
    return (e.step ?? 0, lo, hi, scale)
  }

  static func finiteExtreme(_ values: [Float], _ pick: (Double, Double) -> Double) -> Double {
    var r: Double?
    for v in values where v.isFinite { r = r.map { pick($0, Double(v)) } ?? Double(v) }
    return r ?? .nan
  }

  /// The mean of the finite values (NaN when there are none).
  static func mean(_ values: [Float]) -> Double {
    var sum = 0.0
    var n = 0
    for v in values where v.isFinite {
      sum += Double(v)
      n += 1
    }
    return n > 0 ? sum / Double(n) : .nan
  }

  static func clippingRange(_ e: QParamsEntry) -> (lower: Double, upper: Double)? {
    guard let scale = e.parameters.scale, let json = e.argsJSON, let data = json.data(using: .utf8),
      let args = try? JSONDecoder().decode(QuantizationArgs.self, from: data)
    else { return nil }
    let range = QuantizedRange(args)
    let global = e.parameters.globalScale.map(Double.init) ?? 1
    let zeros = e.parameters.zeroPoint?.values
    var lo = Double.infinity
    var hi = -Double.infinity
    for (i, s) in scale.values.enumerated() {
      let zp = Double(zeros.flatMap { i < $0.count ? $0[i] : nil } ?? 0)
      let step = Double(s) / global
      let a = (Double(range.lowerBound) - zp) * step
      let b = (Double(range.upperBound) - zp) * step
      guard a.isFinite && b.isFinite else { continue }
      lo = min(lo, a, b)
      hi = max(hi, a, b)
    }
    return lo <= hi ? (lo, hi) : nil
  }

  /// max |b - a| / max(|a|, |b|) over elements (0 for equal tensors; `nil` for a shape
  /// mismatch or a missing side). NaN elements count as a difference of 1 unless both are NaN.
  static func relativeDifference(_ b: Tensor?, _ a: Tensor?) -> Double? {
    guard let a, let b, a.shape == b.shape else { return nil }
    var worst = 0.0
    for (x, y) in zip(a.values, b.values) {
      if x.isNaN || y.isNaN {
        if x.isNaN != y.isNaN { worst = max(worst, 1) }
        continue
      }
      if x == y { continue }
      let m = Double(max(abs(x), abs(y)))
      worst = max(worst, m > 0 && m.isFinite ? Double(abs(y - x)) / m : 1)
    }
    return worst
  }
}
