/// The tunable numbers of an observer, read from `observer_kwargs` with llm-compressor's
/// defaults.
public struct ObserverSettings: Sendable, Hashable, Codable {
  /// Weight of the new observation in the moving average, `averaging_constant` (0.01).
  public var averagingConstant: Double = 0.01
  /// Largest fraction the MSE search shrinks the range by, `maxshrink` (0.20).
  public var maxShrink: Double = 0.20
  /// Consecutive steps without any improvement before the search stops, `patience` (5).
  public var patience: Double = 5
  /// Steps per unit of shrink, `grid` (100).
  public var grid: Double = 100
  /// Exponent of the error, `norm` (2.4).
  public var norm: Double = 2.4
  /// Factor applied to the observed range before the search, `expand` (1; 1.8 for
  /// nvfp4_expanded_mse).
  public var expand: Double = 1
  /// Refuse to fall back to the unweighted search when imatrix_mse has no usable
  /// importance, `strict` (false).
  public var strict = false
  /// The settings of observers named by another toolkit (their own kwargs and defaults).
  public var peer = PeerSettings()

  public init() {}

  /// Reads and checks the kwargs an observer of `kind` accepts.
  ///
  /// - Throws: ``ObserverError/unknownKwarg(observer:key:)`` for a key the observer does
  ///   not read, ``ObserverError/invalidKwarg(observer:key:expected:)`` for a non-number
  ///   or a value outside its range.
  public init(kind: ObserverKind, kwargs: [String: ObserverKwarg]) throws {
    for key in kwargs.keys.sorted() where !kind.acceptedKwargs.contains(key) {
      throw ObserverError.unknownKwarg(observer: kind.rawValue, key: key)
    }
    if kind.isONNXRuntime || kind.isModelOpt {
      peer = try PeerSettings(kind: kind, kwargs: kwargs)
      return
    }
    if kind.isExpandedSearch { try readExpandedSearch(kind: kind, kwargs: kwargs) }
    func number(_ key: String, _ expected: String, _ valid: (Double) -> Bool) throws -> Double? {
      guard let value = kwargs[key] else { return nil }
      guard let d = value.number, d.isFinite, valid(d) else {
        throw ObserverError.invalidKwarg(observer: kind.rawValue, key: key, expected: expected)
      }
      return d
    }
    if let c = try number("averaging_constant", "a number in (0, 1]", { $0 > 0 && $0 <= 1 }) {
      averagingConstant = c
    }
    if let m = try number("maxshrink", "a number in [0, 1]", { $0 >= 0 && $0 <= 1 }) { maxShrink = m }
    if let p = try number("patience", "a number in [0, \(Int(Self.patienceLimit))]", {
      $0 >= 0 && $0 <= Self.patienceLimit
    }) { patience = p }
    if let g = try number("grid", "a number in (0, \(Int(Self.gridLimit))]", { $0 > 0 && $0 <= Self.gridLimit }) {
      grid = g
    }
    if let n = try number("norm", "a number in (0, \(Int(Self.normLimit))]", { $0 > 0 && $0 <= Self.normLimit }) {
      norm = n
    }
  }

  /// Largest `grid` accepted. llm-compressor 0.10 reads the kwargs unchecked; the search
  /// keeps `int(maxshrink * grid)` error sums per parameter, so a bound keeps that table
  /// (at most 1,000 steps with `maxshrink` ≤ 1) and the step count finite.
  public static let gridLimit: Double = 1000
  /// Largest `patience` accepted: more than any search has steps (see ``gridLimit``).
  public static let patienceLimit: Double = 1_000_000
  /// Largest `norm` accepted: beyond it every error of a float32 sum overflows to ∞.
  public static let normLimit: Double = 100

  /// `int(maxshrink * grid)`: the number of shrink factors the search tries.
  public var searchSteps: Int { Int((maxShrink * grid).rounded(.towardZero)) }

  /// Shrink factor of step `i`, `p = 1 - i / grid` in double precision, then float32.
  public func shrinkFactor(_ i: Int) -> Float { Float(1 - Double(i) / grid) }
}
