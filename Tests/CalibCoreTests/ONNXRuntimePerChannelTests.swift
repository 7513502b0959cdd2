@testable import CalibCore
import Testing

// ort_minmax with per_channel beyond the fixture cases (Tests/Fixtures/peers, generated
// from onnxruntime 1.32.0): the strategy it needs, the second step onnxruntime cannot
// merge, and the elementwise rules.

private func perChannel(_ kwargs: [String: ObserverKwarg], strategy: String = "attn_head") throws -> Observer {
  var args = try decodeArgs(#"{"num_bits": 8, "symmetric": false, "strategy": "\#(strategy)"}"#)
  args.observerKwargs = kwargs
  return try Observer(kind: .ortMinMax, baseName: .k, args: args)
}

/// A (B, nH, S, D) = (1, 2, 2, 2) state: head 0 spans [-1, 3], head 1 [-4, 2] (times `scale`).
private func heads(_ scale: Float = 1) -> Tensor {
  Tensor(shape: [1, 2, 2, 2], values: [-1, 0, 3, 1, 2, -4, 0, 1].map { $0 * scale })
}

@Suite struct ONNXRuntimePerChannelTests {
  @Test func oneRangePerHead() throws {
    var o = try perChannel(["per_channel": .bool(true)])
    let p = try #require(try o.observe(heads()))
    #expect(o.state.minValues == Tensor(shape: [2, 1, 1], values: [-1, -4]))
    #expect(o.state.maxValues == Tensor(shape: [2, 1, 1], values: [3, 2]))
    #expect(p.scale.shape == [2, 1, 1])
  }

  @Test func symmetricMovingAverageIsElementwise() throws {
    var o = try perChannel(["per_channel": .bool(true), "symmetric": .bool(true), "moving_average": .bool(true),
                            "averaging_constant": .number(0.5)])
    _ = try o.observe(heads())
    _ = try o.observe(heads(3))
    // Step ranges ±3, ±4 then ±9, ±12; the average moves half way.
    #expect(o.state.maxValues?.values == [6, 8])
    #expect(o.state.minValues?.values == [-6, -8])
  }

  @Test func aSecondStepWithoutMovingAverageIsRefusedAsByTheSource() throws {
    var o = try perChannel(["per_channel": .bool(true)])
    _ = try o.observe(heads())
    let before = o.state
    #expect(throws: ObserverError.unsupported(
      observer: "ort_minmax",
      reason: "onnxruntime 1.32 cannot merge per-channel ranges of two steps without moving_average (merge_range raises ValueError): set moving_average true, or record one step")
    ) { try o.observe(heads(2)) }
    #expect(o.state == before)
  }

  @Test func otherStrategiesAreRefused() throws {
    var o = try perChannel(["per_channel": .bool(true)], strategy: "tensor")
    #expect(throws: ObserverError.unsupported(
      observer: "ort_minmax",
      reason: "per_channel keeps axis 1, which is a compressed-tensors parameter only for the heads of q/k/v: use strategy attn_head, not tensor")
    ) { try o.observe(heads()) }
  }

  @Test func perChannelMustBeABool() {
    #expect(throws: ObserverError.invalidKwarg(observer: "ort_minmax", key: "per_channel", expected: "true or false")) {
      try perChannel(["per_channel": .number(1)])
    }
  }

  @Test func withoutPerChannelAnAttentionHeadStrategyIsStillRefused() throws {
    var o = try perChannel([:])
    #expect(throws: ObserverError.self) { try o.observe(heads()) }
  }
}
