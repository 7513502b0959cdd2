import CalibCore

/// What `export` does with an activation whose observer received no samples (an MoE
/// expert that got no tokens). oneshot writes uninitialised memory there; calib never
/// writes a made-up number without being told.
public enum UncalibratedPolicy: String, Sendable, CaseIterable {
  /// Refuse the export, naming the entries (the default).
  case refuse
  /// Leave the entries out of the checkpoint.
  case skip
  /// Use the same layer's sibling experts' largest scale (and smallest global scale):
  /// the value vLLM's fused MoE ends up using, since it takes the maximum over experts.
  case siblingMax = "sibling-max"
}

/// Why an export was refused.
public enum ExportError: Error, Equatable, CustomStringConvertible {
  case uncalibrated(run: String, count: Int, examples: [String])
  case noCalibratedSibling(run: String, entry: String)

  public var description: String {
    switch self {
    case .uncalibrated(let run, let count, let examples):
      "run \"\(run)\" has \(count) uncalibrated activation(s) whose observers received no samples (\(examples.joined(separator: ", "))\(count > examples.count ? ", …" : "")): pass --uncalibrated skip to leave them out, or --uncalibrated sibling-max to use their sibling experts' largest scale"
    case .noCalibratedSibling(let run, let entry):
      "run \"\(run)\": \(entry) is uncalibrated and has no calibrated sibling expert to take a scale from: pass --uncalibrated skip"
    }
  }
}

extension UncalibratedPolicy {
  /// The entries to export: calibrated ones as they are, uncalibrated ones by the policy.
  func resolve(_ entries: [QParamsEntry], run: String) throws -> [QParamsEntry] {
    let missing = entries.filter { !$0.calibrated }
    if missing.isEmpty { return entries }
    switch self {
    case .refuse:
      throw ExportError.uncalibrated(run: run, count: missing.count, examples: missing.prefix(3).map { "\($0.module).\($0.baseName.rawValue)" })
    case .skip:
      return entries.filter(\.calibrated)
    case .siblingMax:
      return try entries.map { e in
        guard !e.calibrated else { return e }
        let siblings = entries.filter { $0.calibrated && $0.baseName == e.baseName && Self.expertFamily($0.module) == Self.expertFamily(e.module) && Self.expertFamily(e.module) != nil }
        guard let first = siblings.first else { throw ExportError.noCalibratedSibling(run: run, entry: "\(e.module).\(e.baseName.rawValue)") }
        var filled = e
        filled.parameters = first.parameters
        for s in siblings.dropFirst() {
          if let a = filled.parameters.scale, let b = s.parameters.scale, a.shape == b.shape {
            filled.parameters.scale = Tensor(shape: a.shape, values: zip(a.values, b.values).map { Swift.max($0, $1) }, dtype: a.dtype)
          }
          if let a = filled.parameters.globalScale, let b = s.parameters.globalScale { filled.parameters.globalScale = Swift.min(a, b) }
        }
        filled.calibrated = true
        return filled
      }
    }
  }

  /// `…experts.<n>.<rest>` with the expert number taken out, or `nil` for a module that
  /// is not an expert.
  static func expertFamily(_ module: String) -> String? {
    let parts = module.split(separator: ".", omittingEmptySubsequences: false)
    guard let i = parts.firstIndex(of: "experts"), i + 1 < parts.count, Int(parts[i + 1]) != nil else { return nil }
    var family = parts
    family[i + 1] = "*"
    return family.joined(separator: ".")
  }
}
