import CalibCore

/// A quantization parameter as compressed-tensors names it in a checkpoint:
/// `<module>.<base>_scale`, `<module>.<base>_zero_point`, `<module>.<base>_global_scale`
/// (e.g. `model.layers.0.mlp.down_proj.weight_scale`, `….self_attn.k_scale`).
public struct CheckpointParameter: Sendable, Hashable {
  /// Which of a base name's parameters.
  public enum Kind: String, Sendable, CaseIterable {
    case scale = "scale"
    case zeroPoint = "zero_point"
    case globalScale = "global_scale"
  }

  public var module: String
  public var baseName: BaseName
  public var kind: Kind

  public init(module: String, baseName: BaseName, kind: Kind) {
    self.module = module
    self.baseName = baseName
    self.kind = kind
  }

  /// The tensor name.
  public var name: String { "\(module).\(baseName.rawValue)_\(kind.rawValue)" }

  /// Parses a tensor name; `nil` for anything that is not a quantization parameter.
  public init?(name: String) {
    guard let dot = name.lastIndex(of: ".") else { return nil }
    let suffix = name[name.index(after: dot)...]
    for base in BaseName.allCases {
      // global_scale before scale: "weight_global_scale" also ends in "_scale".
      for kind in [Kind.globalScale, .zeroPoint, .scale] where suffix == "\(base.rawValue)_\(kind.rawValue)" {
        self.init(module: String(name[..<dot]), baseName: base, kind: kind)
        return
      }
    }
    return nil
  }
}
