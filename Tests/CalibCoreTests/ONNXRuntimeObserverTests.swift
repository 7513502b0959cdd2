@testable import CalibCore
import Foundation
import Testing

// The onnxruntime observers beyond the fixture comparison (ConformanceTests runs the
// `Tests/Fixtures/peers` cases, generated from onnxruntime 1.32.0 itself): the configs the
// source refuses, state round trips and resume, arithmetic, and the NumPy helpers.

private func ort(_ kind: ObserverKind, _ json: String = #"{"num_bits": 8, "strategy": "tensor"}"#, kwargs: [String: ObserverKwarg] = [:])
  throws -> Observer
{
  var args = try decodeArgs(json)
  args.observerKwargs = kwargs
  return try Observer(kind: kind, baseName: .input, args: args)
}

/// A deterministic activation whose later steps widen the range (so histograms grow).
private func steps() -> [Tensor] {
  (0..<4).map { step in
    let scale = [1, 1.5, 0.5, 2][step] as Float
    let values = (0..<3000).map { i -> Float in
      let t = Float((i * 7919 + step * 104_729) % 3000) / 3000
      return (t * t * 6 - 1.5) * scale
    }
    return Tensor(shape: [1, 30, 100], values: values)
  }
}

@Suite struct ONNXRuntimeObserverTests {
  // MARK: - Configurations the source refuses

  struct RefusedCase: Sendable, CustomTestStringConvertible {
    let id: String
    let kind: ObserverKind
    let kwargs: [String: ObserverKwarg]
    let expected: ObserverError
    var testDescription: String { id }
  }

  static let refused: [RefusedCase] = [
    RefusedCase(
      id: "distribution below 512 bins", kind: .ortDistribution, kwargs: ["num_bins": .number(128)],
      expected: .invalidKwarg(observer: "ort_distribution", key: "num_bins", expected: "an integer in [512, 1048576]")),
    RefusedCase(
      id: "percentile above 100", kind: .ortPercentile, kwargs: ["percentile": .number(100.5)],
      expected: .invalidKwarg(observer: "ort_percentile", key: "percentile", expected: "a number in [0.0, 100.0]")),
    RefusedCase(
      id: "unknown scenario", kind: .ortDistribution, kwargs: ["scenario": .string("p2")],
      expected: .invalidKwarg(observer: "ort_distribution", key: "scenario", expected: "\"same\" or \"p3\"")),
    RefusedCase(
      id: "entropy window larger than the histogram", kind: .ortEntropy,
      kwargs: ["num_bins": .number(64), "num_quantized_bins": .number(128)],
      expected: .invalidKwarg(
        observer: "ort_entropy", key: "num_bins",
        expected: "at least num_quantized_bins (128), so the entropy search has a window")),
    RefusedCase(
      id: "averaging constant above 1", kind: .ortMinMax, kwargs: ["averaging_constant": .number(1.5)],
      expected: .invalidKwarg(observer: "ort_minmax", key: "averaging_constant", expected: "a number in [0.0, 1.0]")),
    RefusedCase(
      id: "symmetric not a bool", kind: .ortMinMax, kwargs: ["symmetric": .number(1)],
      expected: .invalidKwarg(observer: "ort_minmax", key: "symmetric", expected: "true or false")),
    RefusedCase(
      id: "kwarg of another observer", kind: .ortPercentile, kwargs: ["grid": .number(10)],
      expected: .unknownKwarg(observer: "ort_percentile", key: "grid")),
  ]

  @Test(arguments: Self.refused) func refusedConfigurations(_ c: RefusedCase) {
    #expect(throws: c.expected) { try ort(c.kind, kwargs: c.kwargs) }
  }

  @Test(arguments: [ObserverKind.ortMinMax, .ortPercentile, .ortEntropy, .ortDistribution])
  func onlyPerTensorRanges(kind: ObserverKind) throws {
    var channel = try ort(kind, #"{"num_bits": 8, "strategy": "channel"}"#)
    let x = Tensor(shape: [2, 4], values: [1, 2, 3, 4, 5, 6, 7, 8])
    #expect(throws: ObserverError.unsupported(
      observer: kind.rawValue, reason: "onnxruntime calibrates one range per tensor: use strategy tensor, not channel")
    ) { try channel.observe(x) }
    var tensor = try ort(kind)
    #expect(throws: ObserverError.self) { try tensor.observeGlobalScale(x) }
    #expect(tensor.state == ObserverState())
  }

  @Test func nonFiniteValuesAreRefusedAndLeaveTheState() throws {
    var o = try ort(.ortPercentile)
    _ = try o.observe(Tensor(shape: [4], values: [1, -2, 3, 0.5]))
    let before = o.state
    #expect(throws: ObserverError.nonFinite(count: 2, firstIndex: 1, shape: [4])) {
      try o.observe(Tensor(shape: [4], values: [1, .nan, 3, -.infinity]))
    }
    #expect(o.state == before)
  }

  // MARK: - State: stored, restored, resumed

  @Test(arguments: [ObserverKind.ortMinMax, .ortPercentile, .ortEntropy, .ortDistribution])
  func resumingFromASavedStateGivesTheSameParameters(kind: ObserverKind) throws {
    let kwargs: [String: ObserverKwarg] =
      switch kind {
      case .ortMinMax: ["moving_average": .bool(true), "averaging_constant": .number(0.25)]
      case .ortEntropy: ["num_bins": .number(256)]
      case .ortPercentile: ["num_bins": .number(512)]
      default: [:]
      }
    let xs = steps()
    var straight = try ort(kind, kwargs: kwargs)
    var expected: [QuantizationParameters?] = []
    for x in xs { expected.append(try straight.observe(x)) }

    var first = try ort(kind, kwargs: kwargs)
    var got: [QuantizationParameters?] = []
    for x in xs.prefix(2) { got.append(try first.observe(x)) }
    // Through both encodings a store uses: JSON for the state, the blob for the histogram.
    var saved = try JSONDecoder().decode(ObserverState.self, from: JSONEncoder().encode(first.state))
    if let h = first.state.histogram { saved.histogram = try CalibrationHistogram(decoding: h.encoded()) }
    #expect(saved == first.state)
    var resumed = try ort(kind, kwargs: kwargs)
    resumed.state = saved
    for x in xs.dropFirst(2) { got.append(try resumed.observe(x)) }
    #expect(got == expected)
    #expect(resumed.state == straight.state)
    if kind != .ortMinMax { #expect((straight.state.histogram?.counts.reduce(0, +) ?? 0) > 0) }
  }

  @Test func histogramsGrowAcrossSteps() throws {
    var value = try ort(.ortDistribution)
    var magnitude = try ort(.ortPercentile)
    var bins: [Int] = []
    var magnitudeBins: [Int] = []
    for x in steps() {
      _ = try value.observe(x)
      _ = try magnitude.observe(x)
      bins.append(value.state.histogram?.counts.count ?? 0)
      magnitudeBins.append(magnitude.state.histogram?.counts.count ?? 0)
    }
    // Widening adds the same number of whole bins on both sides; |x| grows at one end.
    #expect(bins.first == 2048 && bins[1] > 2048 && bins.allSatisfy { ($0 - 2048) % 2 == 0 })
    #expect(magnitudeBins.first == 2048 && magnitudeBins[1] > 2048)
    let h = try #require(value.state.histogram)
    #expect(h.counts.reduce(0, +) == 4 * 3000)
    #expect(h.edges.first == -(h.threshold ?? 0) && h.edges.last == h.threshold)
  }

  @Test func corruptHistogramBlobsAreRefused() throws {
    let h = CalibrationHistogram(counts: [3, 0, 1], edges: [0, 1, 2, 3], minimum: -1, maximum: 3, threshold: nil)
    let bytes = h.encoded()
    #expect(try CalibrationHistogram(decoding: bytes) == h)
    #expect(throws: HistogramDecodingError.self) { try CalibrationHistogram(decoding: Array(bytes.dropLast())) }
    #expect(throws: HistogramDecodingError.self) { try CalibrationHistogram(decoding: [0x43, 0x48] + bytes.dropFirst(2).map { $0 }.dropFirst()) }
  }

  // MARK: - Arithmetic

  @Test func modelArithmeticRoundsTheRangeToTheSamplesDType() throws {
    let values: [Float] = [-1.00390625, 0.5, 2.0078125, 1.25].map(FloatDType.bfloat16.rounded)
    var f32 = try ort(.ortMinMax)
    var bf16 = try ort(.ortMinMax)
    let p32 = try #require(try f32.observe(Tensor(shape: [4], values: values)))
    let p16 = try #require(try bf16.observe(Tensor(shape: [4], values: values, dtype: .bfloat16)))
    #expect(p32.scale.dtype == .float32)
    #expect(p16.scale.dtype == .bfloat16)
    // The state keeps the source's float32 range in both.
    #expect(bf16.state.minValues == f32.state.minValues)
  }

  // MARK: - NumPy helpers (values from numpy 2.4)

  @Test func floorDivideMatchesNumPy() {
    // In float32 (np.float32 operands): 7 // 2 == 3, -7 // 2 == -4, 7.5 // -2 == -4,
    // 0.3 // 0.1 == 3 and 1 // 0.1 == 9 (fmod decides, not the rounded quotient).
    #expect(NumPyHistogram.floorDivide(7, 2) == 3)
    #expect(NumPyHistogram.floorDivide(-7, 2) == -4)
    #expect(NumPyHistogram.floorDivide(7.5, -2) == -4)
    #expect(NumPyHistogram.floorDivide(0.3, 0.1) == 3)
    #expect(NumPyHistogram.floorDivide(1, 0.1) == 9)
  }

  @Test func arangeIsFloat64FromFloat32Bounds() {
    // np.arange(np.float32(1.1), np.float32(1.9), np.float32(0.1)).tolist()
    let a = NumPyHistogram.arange(start: 1.1, stop: 1.9, step: 0.1)
    #expect(a.count == 8)
    #expect(a[1] == 1.2000000476837158)
    #expect(a[4] == 1.5000001192092896)
    #expect(a[7] == 1.8000001907348633)
    #expect(NumPyHistogram.arange(start: 2, stop: 1, step: 0.5).isEmpty)
  }

  @Test func emptyRangeWidensByAHalf() throws {
    var o = try ort(.ortDistribution)
    _ = try o.observe(Tensor(shape: [3], values: [0, 0, 0]))
    let h = try #require(o.state.histogram)
    #expect(h.edges.first == -0.5 && h.edges.last == 0.5)
    #expect(o.state.minValues?.values == [-0.5] && o.state.maxValues?.values == [0.5])
  }

  // MARK: - modelopt_max

  @Test func modelOptMaxKeepsTheRunningMaxMagnitude() throws {
    var o = try ort(.modelOptMax, #"{"num_bits": 8, "symmetric": false, "strategy": "tensor"}"#)
    _ = try o.observe(Tensor(shape: [3], values: [-3, 1, 2]))
    #expect(o.state.minValues?.values == [-3] && o.state.maxValues?.values == [3])
    let p = try #require(try o.observe(Tensor(shape: [2], values: [0.5, -1])))
    #expect(o.state.maxValues?.values == [3])
    // calculate_qparams of (-3, 3) for int8 asymmetric: scale 6 / 255, zero point 0 (rounded).
    #expect(p.scale.values == [Float(6) / 255])
  }

  @Test(arguments: [#"{"num_bits": 8, "strategy": "block", "block_structure": [2, 8]}"#, #"{"num_bits": 4, "type": "float", "strategy": "tensor_group", "group_size": 16}"#])
  func modelOptMaxRefusesOtherStrategies(json: String) throws {
    var o = try ort(.modelOptMax, json)
    #expect(throws: ObserverError.self) { try o.observe(Tensor(shape: [2, 16], repeating: 1), globalScale: 1) }
    #expect(throws: ObserverError.self) { try o.observeGlobalScale(Tensor(shape: [2, 16], repeating: 1)) }
  }

  // MARK: - modelopt_percentile

  @Test func modelOptPercentileIsPerTensorAndChecksItsKwargs() throws {
    var channel = try ort(.modelOptPercentile, #"{"num_bits": 8, "strategy": "channel"}"#)
    #expect(throws: ObserverError.self) { try channel.observe(Tensor(shape: [2, 2], values: [1, 2, 3, 4])) }
    #expect(throws: ObserverError.invalidKwarg(observer: "modelopt_percentile", key: "skip_zeros", expected: "true or false")) {
      try ort(.modelOptPercentile, kwargs: ["skip_zeros": .string("yes")])
    }
    var skipping = try ort(.modelOptPercentile, kwargs: ["skip_zeros": .bool(true)])
    #expect(throws: ObserverError.self) { try skipping.observe(Tensor(shape: [3], values: [0, 0, -0])) }
  }

  @Test func modelOptPercentileGrowsFromZeroAndResumes() throws {
    let xs = steps()
    var straight = try ort(.modelOptPercentile, kwargs: ["num_bins": .number(256)])
    var expected: [QuantizationParameters?] = []
    for x in xs { expected.append(try straight.observe(x)) }
    let h = try #require(straight.state.histogram)
    #expect(h.edges.first == 0 && h.counts.count > 256)
    #expect(h.counts.reduce(0, +) == 4 * 3000)
    var resumed = try ort(.modelOptPercentile, kwargs: ["num_bins": .number(256)])
    var got: [QuantizationParameters?] = []
    for x in xs.prefix(1) { got.append(try resumed.observe(x)) }
    resumed.state.histogram = try CalibrationHistogram(decoding: try #require(resumed.state.histogram).encoded())
    for x in xs.dropFirst() { got.append(try resumed.observe(x)) }
    #expect(got == expected)
  }
}
