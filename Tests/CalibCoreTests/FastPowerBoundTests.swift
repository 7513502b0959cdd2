@testable import CalibCore
import Foundation
import Testing

/// The certified float32 MSE search is only as sound as ``FastPower/maximumError``: it
/// widens every comparison by that many ulp per term, so a power that strays further could
/// let an approximate error pick a step torch's would not. These tests measure the
/// approximation against the exact power (computed in Double, within far less than a
/// float32 ulp) over its whole clamped range.
@Suite struct FastPowerBoundTests {
  /// The norms the search is tuned for (2.4 is llm-compressor's default) and both ends of
  /// the range ``FastPower`` accepts.
  static let norms: [Float] = [1.2, 1.5, 2.4, 2.5, 3.7, 4]

  /// |approx - d^norm| in ulp of the float32 nearest the exact power d^norm.
  static func error(_ approx: Float, of d: Float, norm: Float) -> Double {
    let exact = pow(Double(d), Double(norm))
    return (Double(approx) - exact).magnitude / Double(Float(exact).ulp)
  }

  /// The largest error over `count` inputs spread evenly through the bit patterns from
  /// `floor` to `ceiling` (every exponent, and the mantissas near √2 where the log's
  /// series is weakest), and the input where it occurs.
  static func worstError(norm: Float, count: Int) -> (ulp: Double, at: Float) {
    let power = FastPower(norm: norm)!
    let (low, high) = (power.floor.bitPattern, power.ceiling.bitPattern)
    // An odd stride reaches every mantissa residue, so the samples do not align with the
    // binades.
    let stride = UInt32((high - low) / UInt32(count)) | 1
    var worst = (ulp: 0.0, at: Float.zero)
    var bits = low
    while bits <= high {
      var d = Lanes()
      for k in 0..<Lanes.scalarCount {
        d[k] = Float(bitPattern: Swift.min(high, bits &+ UInt32(k) &* stride))
      }
      let approx = power.raised(d)
      for k in 0..<Lanes.scalarCount {
        let e = error(approx[k], of: d[k], norm: norm)
        if e > worst.ulp { worst = (e, d[k]) }
      }
      let (next, overflow) = bits.addingReportingOverflow(UInt32(Lanes.scalarCount) &* stride)
      if overflow { break }
      bits = next
    }
    return worst
  }

  @Test(arguments: norms)
  func withinTheCertifiedBound(norm: Float) {
    let worst = Self.worstError(norm: norm, count: 1 << 20)
    #expect(worst.ulp <= FastPower.maximumError, "norm \(norm): \(worst.ulp) ulp at \(worst.at)")
  }

  /// The samples reach the bound's neighbourhood, so the test above would notice a power
  /// that got worse: at the extreme norm the worst sampled error is above 4 ulp (4.3 over
  /// every input).
  @Test func theSamplesFindTheLargeErrors() {
    #expect(Self.worstError(norm: 4, count: 1 << 20).ulp > 4)
  }

  /// Inputs at the clamp bounds and just inside them, where the exponent is largest.
  @Test(arguments: norms)
  func atTheClampBounds(norm: Float) {
    let power = FastPower(norm: norm)!
    let d = Lanes(
      power.floor, power.floor.nextUp, power.ceiling, power.ceiling.nextDown, 1, Float(1).nextDown,
      Float(2).squareRoot(), Float(0.5).squareRoot())
    let approx = power.raised(d)
    for k in 0..<Lanes.scalarCount {
      let e = Self.error(approx[k], of: d[k], norm: norm)
      #expect(e <= FastPower.maximumError, "norm \(norm), d = \(d[k]): \(e) ulp")
    }
  }
}
