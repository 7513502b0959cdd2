@testable import CalibCore
import Testing

// modelopt_entropy, modelopt_mse and modelopt_mse_sweep beyond the fixture comparison
// (ConformanceTests runs the `Tests/Fixtures/peers` cases generated from nvidia-modelopt
// 0.47 itself): the configs the source refuses, kwargs out of range, resume through the
// stored blobs, the source's quirks, and torch's summation order.

private func modelOpt(
  _ kind: ObserverKind, _ json: String = #"{"num_bits": 8, "strategy": "tensor"}"#, kwargs: [String: ObserverKwarg] = [:]
) throws -> Observer {
  var args = try decodeArgs(json)
  args.observerKwargs = kwargs
  return try Observer(kind: kind, baseName: .input, args: args)
}

/// Four deterministic steps; the later ones widen the range, so histograms grow.
private func widening() -> [Tensor] {
  [1, 1.5, 0.5, 2].map { (s: Float) in
    Tensor(shape: [3000], values: (0..<3000).map { k in s * Float((k * 7919) % 2001 - 1000) / 250 })
  }
}

@Suite struct ModelOptSearchObserverTests {
  // MARK: - Kwargs and configs the source refuses

  @Test(arguments: [
    (ObserverKind.modelOptEntropy, "start_bin", ObserverKwarg.number(0), "an integer in [1, 1048576]"),
    (.modelOptMSE, "start_bin", .number(-1), "an integer in [0, 1048576]"),
    (.modelOptMSE, "stride", .number(0), "an integer in [1, 1048576]"),
    (.modelOptEntropy, "stride", .number(1e300), "an integer in [1, 1048576]"),
    (.modelOptMSESweep, "step_size", .number(.nan), "a number in [1e-06, 1000.0]"),
    (.modelOptMSESweep, "start_multiplier", .number(-0.5), "a number in [0.0, 1000.0]"),
    (.modelOptMSESweep, "stop_multiplier", .number(1e300), "a number in [0.0, 1000.0]"),
    (.modelOptMSESweep, "narrow_range", .string("yes"), "true or false"),
  ])
  func kwargsOutOfRangeNameTheFieldAndTheFix(kind: ObserverKind, key: String, value: ObserverKwarg, expected: String) {
    #expect(throws: ObserverError.invalidKwarg(observer: kind.rawValue, key: key, expected: expected)) {
      try modelOpt(kind, kwargs: [key: value])
    }
  }

  @Test func theSweepNeedsAnIncreasingRangeOfFewCandidates() throws {
    #expect(throws: ObserverError.invalidKwarg(observer: "modelopt_mse_sweep", key: "stop_multiplier", expected: "at least start_multiplier (2.0)")) {
      try modelOpt(.modelOptMSESweep, kwargs: ["start_multiplier": .number(2), "stop_multiplier": .number(1)])
    }
    #expect(throws: ObserverError.self) { try modelOpt(.modelOptMSESweep, kwargs: ["step_size": .number(1e-6)]) }
    #expect(try modelOpt(.modelOptMSESweep).settings.peer.sweepSteps == 39)
    let one = try modelOpt(.modelOptMSESweep, kwargs: ["start_multiplier": .number(1), "stop_multiplier": .number(1)])
    #expect(one.settings.peer.sweepSteps == 1)
  }

  @Test(arguments: [ObserverKind.modelOptEntropy, .modelOptMSE, .modelOptMSESweep])
  func floatArgumentsAreRefused(kind: ObserverKind) throws {
    var o = try modelOpt(kind, #"{"num_bits": 8, "type": "float", "strategy": "tensor"}"#)
    #expect(throws: ObserverError.unsupported(observer: kind.rawValue, reason: kind == .modelOptMSESweep
      ? "the sweep fake-quantizes to integers: use type int, not float"
      : "the \(kind == .modelOptMSE ? "MSE" : "entropy") search needs an integer bit count: use type int, not float")) {
      try o.observe(widening()[0])
    }
  }

  @Test func histogramSearchesArePerTensorOnly() throws {
    var channel = try modelOpt(.modelOptEntropy, #"{"num_bits": 8, "strategy": "channel"}"#)
    #expect(throws: ObserverError.self) { try channel.observe(Tensor(shape: [2, 2], values: [1, 2, 3, 4])) }
  }

  @Test func aStartBinPastTheHistogramIsAClearErrorAndKeepsTheState() throws {
    var o = try modelOpt(.modelOptEntropy, kwargs: ["num_bins": .number(64)])
    #expect(throws: ObserverError.unsupported(
      observer: "modelopt_entropy", reason: "start_bin 128 is past the histogram's 64 bins (lower start_bin or raise num_bins)")) {
      try o.observe(widening()[0])
    }
    #expect(o.state.histogram == nil)
    var mse = try modelOpt(.modelOptMSE, kwargs: ["num_bins": .number(128)])
    #expect(throws: ObserverError.self) { try mse.observe(widening()[0]) }
  }

  @Test(arguments: [ObserverKind.modelOptEntropy, .modelOptMSE, .modelOptMSESweep])
  func nonFiniteValuesAreRefused(kind: ObserverKind) throws {
    var o = try modelOpt(kind)
    #expect(throws: ObserverError.self) { try o.observe(Tensor(shape: [3], values: [1, .nan, 2])) }
    #expect(o.state == ObserverState())
  }

  // MARK: - The source's behaviour

  /// `_compute_amax_mse` passes num_bits as fake_tensor_quant's bias, so every centre
  /// maps to one value above the data and the first centre tried wins.
  @Test func histogramMSEPicksTheStartBinsCentreAsTheSourceDoes() throws {
    var o = try modelOpt(.modelOptMSE, kwargs: ["num_bins": .number(512), "start_bin": .number(40)])
    _ = try o.observe(widening()[0])
    let h = try #require(o.state.histogram)
    #expect(o.state.maxValues?.values == [(h.edges[41] + h.edges[40]) / 2])
    #expect(o.state.minValues?.values == [-(h.edges[41] + h.edges[40]) / 2])
  }

  @Test func entropyPicksAnEdgeAtOrPastTheStartBin() throws {
    var o = try modelOpt(.modelOptEntropy, kwargs: ["num_bins": .number(256), "start_bin": .number(16), "stride": .number(4)])
    _ = try o.observe(widening()[0])
    let h = try #require(o.state.histogram)
    let amax = try #require(o.state.maxValues?.values.first)
    let index = try #require(h.edges.firstIndex(of: amax))
    #expect(index >= 16 && (index - 16) % 4 == 0)
  }

  // MARK: - Resume

  @Test(arguments: [ObserverKind.modelOptEntropy, .modelOptMSE, .modelOptMSESweep])
  func resumingFromTheStoredBlobsGivesTheSameParameters(kind: ObserverKind) throws {
    let xs = widening()
    let kwargs: [String: ObserverKwarg] = kind == .modelOptMSESweep ? [:] : ["num_bins": .number(256), "start_bin": .number(32)]
    var straight = try modelOpt(kind, kwargs: kwargs)
    var expected: [QuantizationParameters?] = []
    for x in xs { expected.append(try straight.observe(x)) }
    var resumed = try modelOpt(kind, kwargs: kwargs)
    var got = [try resumed.observe(xs[0])]
    var saved = ObserverState(minValues: resumed.state.minValues, maxValues: resumed.state.maxValues)
    saved.histogram = try resumed.state.histogram.map { try CalibrationHistogram(decoding: $0.encoded()) }
    saved.sweep = try resumed.state.sweep.map { try MSESweepState(decoding: $0.encoded()) }
    resumed = try modelOpt(kind, kwargs: kwargs)
    resumed.state = saved
    for x in xs.dropFirst() { got.append(try resumed.observe(x)) }
    #expect(got == expected)
    #expect(resumed.state == straight.state)
  }

  @Test func theSweepSumsLossesAcrossStepsWithTheFirstStepsAmax() throws {
    let xs = widening()
    var o = try modelOpt(.modelOptMSESweep)
    _ = try o.observe(xs[0])
    let first = try #require(o.state.sweep)
    #expect(first.initialAmax == [4])
    _ = try o.observe(xs[1])
    let second = try #require(o.state.sweep)
    #expect(second.initialAmax == [4])
    var alone = try modelOpt(.modelOptMSESweep)
    alone.state.sweep = MSESweepState(initialAmax: [4], losses: first.losses.map { $0.map { _ in 0 } })
    _ = try alone.observe(xs[1])
    let secondAlone = try #require(alone.state.sweep)
    for c in first.losses.indices { #expect(second.losses[c][0] == first.losses[c][0] + secondAlone.losses[c][0]) }
  }

  // In a bf16 model the initial amax is bf16 and each candidate a 0-dim float32 tensor:
  // torch keeps bf16 for a product with dimensions (per channel, per group) and promotes
  // a 0-dim one (per tensor) to float32 (the peers-bf16 fixture checks the same on real
  // weights).
  @Test(arguments: [("channel", FloatDType.bfloat16), ("tensor", FloatDType.float32)])
  func inBF16OnlyAnAmaxWithDimensionsRoundsTheCandidates(strategy: String, rounding: FloatDType) throws {
    let values = (0..<512).map { k in FloatDType.bfloat16.rounded(Float((k * 7919) % 2001 - 1000) / 3001) }
    let x = Tensor(shape: [2, 256], values: values, dtype: .bfloat16)
    var args = try decodeArgs(#"{"num_bits": 8, "strategy": "\#(strategy)"}"#)
    args.observerKwargs = [:]
    var o = try Observer(kind: .modelOptMSESweep, baseName: .weight, args: args)
    _ = try o.observe(x)
    let sweep = try #require(o.state.sweep)
    let candidates = ModelOptMSESweep.candidates(o.settings.peer)
    func losses(_ dtype: FloatDType) -> [[Float]] {
      var s = MSESweepState(initialAmax: sweep.initialAmax, losses: sweep.losses.map { $0.map { _ in 0 } })
      values.withUnsafeBufferPointer { ModelOptMSESweep.accumulate(&s, $0, candidates: candidates, numBits: 8, narrowRange: false, candidateDType: dtype) }
      return s.losses
    }
    #expect(sweep.losses == losses(rounding))
    #expect(losses(.bfloat16) != losses(.float32))
  }

  @Test func aCorruptSweepBlobIsReported() {
    #expect(throws: HistogramDecodingError.self) { try MSESweepState(decoding: Array("CMSW".utf8) + [1, 1, 0, 0, 0, 1, 0, 0, 0]) }
    #expect(throws: HistogramDecodingError.self) { try MSESweepState(decoding: [1, 2, 3]) }
  }

  // MARK: - torch's summation order

  /// A value torch 2.13 sums (5003 floats, `torch.from_numpy(x).sum()`) to 0x4514f60c,
  /// where NumPy's pairwise sum gives 0x4514f609; its first six sum to 0x43112cef.
  @Test func cascadeSumFollowsTorchsOrder() {
    let x: [Float] = (0..<5003).map { (k: Int) -> Float in
      let r: Int = k % 13
      let weight = Float(1 + r * r * r)
      let v = Float((k * 7919) % 2001 - 1000)
      return v * weight / 997
    }
    func torchSum(_ x: [Float]) -> Float {
      TorchSum.sum(count: x.count, vector: { k in Lanes(x[k..<(k + 8)]) }, scalar: { x[$0] })
    }
    let all = torchSum(x)
    #expect(all.bitPattern == 0x4514_f60c)
    let six = torchSum(Array(x.prefix(6)))
    #expect(six.bitPattern == 0x4311_2cef)
  }
}
