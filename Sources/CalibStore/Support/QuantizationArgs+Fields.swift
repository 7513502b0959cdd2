import CalibCore
import Foundation

extension QuantizationArgs {
  /// Every field as compact JSON text, `observer_kwargs` spread as `observer_kwargs.KEY`;
  /// null fields left out. Used to list exactly which settings differ.
  public var flattenedFields: [String: String] {
    guard let data = try? JSONEncoder.sorted.encode(self),
      let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { return [:] }
    var flat: [String: String] = [:]
    for (k, v) in object {
      if k == "observer_kwargs", let kw = v as? [String: Any] {
        for (kk, vv) in kw { flat["observer_kwargs.\(kk)"] = "\(vv)" }
      } else if !(v is NSNull) {
        let d = try? JSONSerialization.data(withJSONObject: v, options: [.fragmentsAllowed, .sortedKeys])
        flat[k] = d.map { String(decoding: $0, as: UTF8.self) } ?? "\(v)"
      }
    }
    return flat
  }

  /// `field: a -> b` for every field that differs from `other`.
  public func differences(from other: QuantizationArgs) -> [String] {
    let a = other.flattenedFields
    let b = flattenedFields
    return Set(a.keys).union(b.keys).sorted().compactMap { key in
      a[key] == b[key] ? nil : "\(key): \(a[key] ?? "null") -> \(b[key] ?? "null")"
    }
  }
}
