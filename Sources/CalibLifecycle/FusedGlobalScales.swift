/// llm-compressor 0.10's `update_fused_layer_weight_global_scales`: projections that vLLM
/// fuses into one matrix share one NVFP4 weight global scale, the minimum of theirs.
///
/// Groups are found by name: siblings `q_proj`, `k_proj`, `v_proj` of one parent, and
/// `gate_proj`, `up_proj` of one parent. A group is fused only when every member exists
/// and quantizes its weight with TENSOR_GROUP (and so has a global scale).
public enum FusedGlobalScales {
  /// The sibling names fused together.
  public static let groups: [[String]] = [["q_proj", "k_proj", "v_proj"], ["gate_proj", "up_proj"]]

  /// Applies the fused minimum; returns the names of the modules whose global scale
  /// changed.
  @discardableResult
  public static func apply(to modules: inout [String: CalibratedModule]) -> [String] {
    var changed: [String] = []
    let parents = Set(modules.keys.compactMap { name -> String? in
      guard let dot = name.lastIndex(of: ".") else { return nil }
      return String(name[..<dot])
    })
    for parent in parents.sorted() {
      for group in groups {
        let names = group.map { "\(parent).\($0)" }
        let members = names.compactMap { modules[$0] }
        guard members.count == group.count,
          members.allSatisfy({ $0.scheme.weights?.strategy == .tensorGroup }),
          case let scales = members.compactMap({ $0.parameters[.weight]?.globalScale }),
          scales.count == group.count
        else { continue }
        let fused = scales.dropFirst().reduce(scales[0]) { $0.isNaN || $1.isNaN ? .nan : Swift.min($0, $1) }
        for name in names where modules[name]?.parameters[.weight]?.globalScale?.bitPattern != fused.bitPattern {
          modules[name]?.parameters[.weight]?.globalScale = fused
          changed.append(name)
        }
      }
    }
    return changed
  }
}
