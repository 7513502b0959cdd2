/// The running state of `modelopt_mse_sweep` (nvidia-modelopt's `MseCalibrator`): the
/// initial amax per parameter, fixed at the first step, and the float32 loss of every
/// candidate multiplier per parameter, summed over the steps so far (`_losses_sum`).
///
/// Stored per step with the observer's state so that a recording can resume and
/// `show --steps` can report it; ``encoded()`` is its little-endian blob.
///
/// For example:
/// ```swift
/// let s = MSESweepState(initialAmax: [2], losses: [[4], [1]])
/// let same = try MSESweepState(decoding: s.encoded())
/// ```
public struct MSESweepState: Sendable, Equatable, Codable {
  /// amax per parameter the multipliers scale (`_initial_amax`).
  public var initialAmax: [Float]
  /// `losses[candidate][parameter]`: the summed loss (`_losses_sum`).
  public var losses: [[Float]]

  public init(initialAmax: [Float], losses: [[Float]]) {
    precondition(losses.allSatisfy { $0.count == initialAmax.count }, "one loss per parameter and candidate")
    self.initialAmax = initialAmax
    self.losses = losses
  }

  private static let magic: [UInt8] = Array("CMSW".utf8)
  private static let version: UInt8 = 1

  /// The blob: `"CMSW"`, version 1, the parameter and candidate counts as UInt32, then the
  /// initial amax and the losses (candidate-major) as Float32 — all little-endian.
  public func encoded() -> [UInt8] {
    var out = Self.magic
    out.append(Self.version)
    for n in [initialAmax.count, losses.count] {
      for k in 0..<4 { out.append(UInt8(truncatingIfNeeded: UInt32(n) >> (8 * k))) }
    }
    for f in initialAmax + losses.joined() {
      for k in 0..<4 { out.append(UInt8(truncatingIfNeeded: f.bitPattern >> (8 * k))) }
    }
    return out
  }

  /// Decodes ``encoded()``.
  ///
  /// - Throws: ``HistogramDecodingError`` for a blob of another format or length.
  public init(decoding bytes: [UInt8]) throws {
    guard bytes.count >= 13, Array(bytes[0..<4]) == Self.magic else {
      throw HistogramDecodingError(reason: "not an MSE sweep blob")
    }
    guard bytes[4] == Self.version else { throw HistogramDecodingError(reason: "unknown MSE sweep version \(bytes[4])") }
    func word(_ offset: Int) -> UInt32 {
      (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
    }
    let parameters = Int(word(5))
    let candidates = Int(word(9))
    let size = 13 + 4 * parameters * (candidates + 1)
    guard bytes.count == size else {
      throw HistogramDecodingError(
        reason: "\(parameters) parameters and \(candidates) candidates need \(size) bytes, got \(bytes.count)")
    }
    let floats = (0..<parameters * (candidates + 1)).map { Float(bitPattern: word(13 + 4 * $0)) }
    self.init(
      initialAmax: Array(floats[0..<parameters]),
      losses: (0..<candidates).map { c in Array(floats[parameters * (c + 1)..<parameters * (c + 2)]) })
  }
}
