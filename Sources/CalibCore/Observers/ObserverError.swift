/// Data problems an observer refuses, each naming what to do.
public enum ObserverError: Error, Equatable, CustomStringConvertible {
  /// The value holds NaN or ±∞: `count` of them, the first at flat index `firstIndex`.
  case nonFinite(count: Int, firstIndex: Int, shape: [Int])
  /// TENSOR_GROUP scales need the global scale first (`get_global_scale`).
  case missingGlobalScale
  /// A value whose parameters have another shape than the running state's.
  case shapeChanged(running: [Int], observed: [Int])
  /// An observer name the registry does not know.
  case unknownObserver(String)
  /// A keyword argument the observer does not take.
  case unknownKwarg(observer: String, key: String)
  /// A keyword argument of the wrong type or out of range.
  case invalidKwarg(observer: String, key: String, expected: String)
  /// The shape or strategy does not fit (see ``LayoutError``).
  case layout(LayoutError)
  /// The arguments cannot produce parameters (see ``QuantizationArgsError``).
  case arguments(QuantizationArgsError)
  /// A configuration the observer's source refuses or cannot compute, with why and what to do.
  case unsupported(observer: String, reason: String)

  /// ``nonFinite(count:firstIndex:shape:)`` for `value`: how many of its elements are NaN
  /// or ±∞, and where the first one is.
  static func nonFinite(in value: Tensor) -> ObserverError {
    var count = 0
    var first = -1
    for (i, x) in value.values.enumerated() where !x.isFinite {
      if first < 0 { first = i }
      count += 1
    }
    return .nonFinite(count: count, firstIndex: first, shape: value.shape)
  }

  public var description: String {
    switch self {
    case .nonFinite(let count, let first, let shape):
      "value of shape \(shape) holds \(count) non-finite element(s) (NaN or ±inf), the first at flat index \(first): clean the sample or record it with --allow-nonfinite to skip it"
    case .missingGlobalScale:
      "tensor_group scales need the global scale first: compute the global scale before the scale"
    case .shapeChanged(let running, let observed):
      "observed parameters of shape \(observed) but the running state has shape \(running): feed samples of one shape to one observer"
    case .unknownObserver(let name):
      "unknown observer '\(name)': use one of \(ObserverKind.allCases.map(\.rawValue).joined(separator: ", "))"
    case .unknownKwarg(let observer, let key):
      if let accepted = ObserverKind(rawValue: observer)?.acceptedKwargs, !accepted.isEmpty {
        "observer '\(observer)' takes no keyword argument '\(key)': use one of \(accepted.joined(separator: ", "))"
      } else {
        "observer '\(observer)' takes no keyword arguments: remove '\(key)'"
      }
    case .invalidKwarg(let observer, let key, let expected):
      "observer '\(observer)' keyword argument '\(key)' must be \(expected)"
    case .layout(let e): e.description
    case .arguments(let e): e.description
    case .unsupported(let observer, let reason): "observer '\(observer)': \(reason)"
    }
  }
}
