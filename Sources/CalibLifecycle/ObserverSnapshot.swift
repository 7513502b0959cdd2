import CalibCore

/// The outcome of one lifecycle call on a (module, base name): what is recorded per step.
public struct ObserverSnapshot: Sendable, Equatable {
  public var module: String
  public var baseName: BaseName
  public var observer: ObserverKind?
  public var kwargs: [String: ObserverKwarg]
  public var state: ObserverState
  public var parameters: ModuleParameters
}
