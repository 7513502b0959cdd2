import CalibCore
import CalibFormats
import Foundation

/// Writes a synthetic recording input: `steps` step files and one weights file for
/// `modules` Linear modules (`layers.N.proj`) with float32 values from a fixed-seed
/// generator, plus a recipe that observes weights, inputs and outputs with stateful
/// observers (so a resume must restore running state to agree).
public struct SyntheticRecording {
  public let stepFiles: [String]
  public let weightsFile: String
  public let recipeFile: String

  public init(in directory: TemporaryDirectory, steps: Int, modules: Int, tokens: Int = 64, hidden: Int = 256) throws {
    try self.init(in: directory, steps: steps, moduleNames: (0..<modules).map { "layers.\($0).proj" }, tokens: tokens, hidden: hidden)
  }

  /// A recording of the named Linear modules (name them `….q_proj`, `….k_proj`,
  /// `….v_proj` to exercise fused global scales).
  public init(in directory: TemporaryDirectory, steps: Int, moduleNames: [String], tokens: Int = 64, hidden: Int = 256, seed: UInt64 = 42) throws {
    var rng = SplitMix64(seed: seed)
    func randomTensor(_ shape: [Int], scale: Float) -> Tensor {
      Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in rng.nextGaussian() * scale })
    }
    var weights = SafetensorsWriter(metadata: ["module_types": "{" + moduleNames.map { "\"\($0)\": \"Linear\"" }.joined(separator: ", ") + "}"])
    for name in moduleNames {
      weights.append(name: "\(name).weight", tensor: randomTensor([hidden, hidden], scale: 0.02), as: .bf16)
    }
    weightsFile = directory.path("weights.safetensors")
    try weights.write(to: weightsFile)
    var files: [String] = []
    for s in 0..<steps {
      var step = SafetensorsWriter(metadata: ["step": String(s)])
      for name in moduleNames {
        step.append(name: "\(name).input", tensor: randomTensor([2, tokens, hidden], scale: 1 + Float(s % 5)), as: .bf16)
        step.append(name: "\(name).output", tensor: randomTensor([2, tokens, hidden], scale: 0.5), as: .f32)
      }
      let path = directory.path(String(format: "step-%04d.safetensors", s))
      try step.write(to: path)
      files.append(path)
    }
    stepFiles = files
    recipeFile = directory.path("recipe.yaml")
    try """
      config_groups:
        group_0:
          targets: [Linear]
          weights: {num_bits: 4, type: int, symmetric: false, strategy: group, group_size: 64}
          input_activations: {num_bits: 8, type: int, symmetric: false, strategy: tensor, dynamic: false, observer: minmax, observer_kwargs: {averaging_constant: 0.1}}
          output_activations: {num_bits: 8, type: float, strategy: tensor, dynamic: false, observer: static_minmax}
      """.write(toFile: recipeFile, atomically: true, encoding: .utf8)
  }
}

/// A small deterministic generator (SplitMix64) with Box–Muller normals.
public struct SplitMix64: RandomNumberGenerator, Sendable {
  private var state: UInt64

  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A standard normal sample.
  public mutating func nextGaussian() -> Float {
    let u1 = Double(next() >> 11) / Double(1 << 53) + 1e-12
    let u2 = Double(next() >> 11) / Double(1 << 53)
    return Float((-2 * log(u1)).squareRoot() * cos(2 * .pi * u2))
  }
}
