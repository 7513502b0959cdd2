/// How many scales a tensor gets and which elements share one (compressed-tensors
/// `strategy`).
///
/// ```
/// strategy      scale shape (weight R×C)   scale shape (activation B×S×H)
/// tensor        (1,)                       (1,)
/// channel       (R, 1)                     -
/// group         (R, C/g)                   (H/g,)
/// tensor_group  (R, C/g) + global (1,)     (H/g,) + global (1,)
/// block         (⌈R/bh⌉, ⌈C/bw⌉)           -
/// token         -                          dynamic only
/// attn_head     -                          q/k/v (B, nH, S, D): (nH, 1, 1)
/// ```
public enum QuantizationStrategy: String, Sendable, Codable, CaseIterable {
  case tensor
  case channel
  case group
  case block
  case token
  case tensorGroup = "tensor_group"
  case attentionHead = "attn_head"

  /// Whether the strategy splits the last dimension into groups of `group_size`.
  public var isGrouped: Bool { self == .group || self == .tensorGroup }
}
