/// A state the lifecycle reports: which variant, which step, and the snapshot after the
/// call (weights report step 0).
public struct RecordedState: Sendable, Equatable {
  public var variant: Int
  public var step: Int
  public var snapshot: ObserverSnapshot

  public init(variant: Int, step: Int, snapshot: ObserverSnapshot) {
    self.variant = variant
    self.step = step
    self.snapshot = snapshot
  }
}
