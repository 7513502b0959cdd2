import CalibCore

/// The arithmetic a run's observers use.
///
/// - `model`: every operation in the samples' dtype (bf16, f16 or float32), rounded the
///   way torch rounds it in a bf16 or f16 model. This is what llm-compressor's `oneshot`
///   writes into a checkpoint, and the default.
/// - `float32`: samples are upcast to float32 first, as when the reference is fed float32
///   tensors. Use it to compare against float32 experiments, or to see how much of a
///   difference the model's precision makes.
public enum Arithmetic: String, Sendable, Codable, CaseIterable {
  case model
  case float32
}

extension Arithmetic {
  /// The dtype observers compute in for samples of `sampleDType` (`nil`: a dtype no model
  /// computes in, taken as float32).
  public func dtype(forSamplesOf sampleDType: FloatDType?) -> FloatDType {
    switch self {
    case .model: sampleDType ?? .float32
    case .float32: .float32
    }
  }
}
