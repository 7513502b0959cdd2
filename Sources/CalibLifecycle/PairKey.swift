import CalibCore

/// A (module, base name) pair, ordered by module then base name: the unit that observes
/// samples independently of every other once the weights are calibrated.
public struct PairKey: Hashable, Comparable, Sendable {
  public var module: String
  public var base: BaseName

  public init(module: String, base: BaseName) {
    self.module = module
    self.base = base
  }

  public static func < (a: Self, b: Self) -> Bool { (a.module, a.base) < (b.module, b.base) }
}
