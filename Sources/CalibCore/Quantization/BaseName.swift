/// What a module's quantized tensor is: its weight, its input or output activation, or
/// an attention state. Parameters are named `<base>_scale`, `<base>_zero_point`,
/// `<base>_global_scale` after it.
public enum BaseName: String, Sendable, Codable, CaseIterable, Comparable {
  case weight
  case input
  case output
  case q
  case k
  case v

  /// Whether the value is an attention state of shape (batch, heads, seq, head_dim).
  public var isAttentionState: Bool { self == .q || self == .k || self == .v }

  private var rank: Int {
    switch self {
    case .weight: 0
    case .input: 1
    case .output: 2
    case .q: 3
    case .k: 4
    case .v: 5
    }
  }

  public static func < (a: Self, b: Self) -> Bool { a.rank < b.rank }
}
