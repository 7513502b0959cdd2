extension ObserverSettings {
  /// The defaults of newer llm-compressor's searching weight observers (0.14.0.1,
  /// `observers/mse.py` and `observers/imatrix.py`), before the kwargs are read:
  /// ```
  /// observer            maxshrink      grid  patience  norm  expand  strict
  /// nvfp4_expanded_mse  1 - 0.8/1.8    200   1000      2.4   1.8     -
  /// imatrix_mse         0.95           20    5         3.0   1.0     false
  /// ```
  /// The kwargs the two share with `mse` are read by the same checks afterwards;
  /// `expand` must be at least 1 for nvfp4_expanded_mse (the source refuses less) and
  /// positive for imatrix_mse; `strict` must be a bool.
  ///
  /// - Throws: ``ObserverError/invalidKwarg(observer:key:expected:)``.
  mutating func readExpandedSearch(kind: ObserverKind, kwargs: [String: ObserverKwarg]) throws {
    switch kind {
    case .nvfp4ExpandedMSE:
      expand = 1.8
      maxShrink = 1 - 0.8 / 1.8
      grid = 200
      patience = 1000
      norm = 2.4
    default:
      maxShrink = 0.95
      grid = 20
      patience = 5
      norm = 3.0
    }
    let lowest = kind == .nvfp4ExpandedMSE ? "at least 1" : "greater than 0"
    if let v = kwargs["expand"] {
      let limit = Self.expandLimit
      guard let d = v.number, d.isFinite, d <= limit, kind == .nvfp4ExpandedMSE ? d >= 1 : d > 0 else {
        throw ObserverError.invalidKwarg(
          observer: kind.rawValue, key: "expand", expected: "a number \(lowest) and at most \(Int(limit))")
      }
      expand = d
    }
    if let v = kwargs["strict"] {
      guard case .bool(let b) = v else {
        throw ObserverError.invalidKwarg(observer: kind.rawValue, key: "strict", expected: "true or false")
      }
      strict = b
    }
  }

  /// Largest `expand` accepted: the sources set no bound; far beyond it every candidate
  /// range of a float32 weight overflows.
  public static let expandLimit: Double = 1000
}
