/// Where the lifecycle reports the states of the weight phase: a recording buffers them
/// for its transaction, a replay writes them as they come.
public protocol CalibrationSink: Sendable {
  /// Receives the states one unit of work produced; may be called concurrently.
  func record(_ states: [RecordedState]) throws
}
