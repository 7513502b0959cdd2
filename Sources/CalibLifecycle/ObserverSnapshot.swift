import CalibCore

/// The outcome of one lifecycle call on a (module, base name): what is recorded per step.
public struct ObserverSnapshot: Sendable, Equatable {
  public var module: String
  public var baseName: BaseName
  public var observer: ObserverKind?
  public var kwargs: [String: ObserverKwarg]
  public var state: ObserverState
  public var parameters: ModuleParameters

  public init(
    module: String, baseName: BaseName, observer: ObserverKind?, kwargs: [String: ObserverKwarg], state: ObserverState,
    parameters: ModuleParameters
  ) {
    self.module = module
    self.baseName = baseName
    self.observer = observer
    self.kwargs = kwargs
    self.state = state
    self.parameters = parameters
  }
}
