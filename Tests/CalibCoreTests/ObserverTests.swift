import CalibCore
import Foundation
import Testing

// Observers against llm-compressor 0.10.0 (generation B: `observer(x)` returns the scale and
// zero point at every call, `get_global_scale(x)` serves TENSOR_GROUP). Golden values come
// from the reference venv:
//   from llmcompressor.observers import Observer
//   holder = torch.nn.Module()
//   o = Observer.load_from_registry(name, base_name=base, args=QuantizationArgs(**args), module=holder)
//   g = o.get_global_scale(x); holder.<base>_global_scale = g        # TENSOR_GROUP only
//   s, z, mn, mx = o._forward_with_minmax(x)                          # s, z == o(x)
// printed as float32 bit patterns; running state is o.past_min_vals / o.past_max_vals
// (o.past_global_min_vals / ..._max_vals for the global scale).
//
// QUANT_SEMANTICS §8.1/§8.2 observer vectors came from ct 0.19 / lc 0.14; every one used
// here was re-run on the installed ct 0.14 / lc 0.10. They agree except the NVFP4 MSE
// local ranges, which generation B leaves unshrunk (see nvfp4SearchKeepsTheRawRanges).

private func observer(_ kind: ObserverKind, _ base: BaseName, _ json: String) throws -> Observer {
  try Observer(kind: kind, baseName: base, args: decodeArgs(json))
}

private func scalars(_ xs: [Float]) -> Tensor { Tensor(shape: [1, xs.count], values: xs) }

@Suite struct ObserverTests {
  // §8.2: the 2×16 weight (as float32 bits)
  static let w = bitsTensor([2, 16], [
    0x3dcc7577, 0x3f048068, 0x3f75180f, 0x3fab1586, 0x3fc92263, 0x3fcbd71e, 0x3fae0fd8, 0x3edf6fb2,
    0x3dbec302, 0xbebb3bb8, 0xbf5fc3e1, 0xbfac4641, 0xbfd82d18, 0xbfe91687, 0xbf57db25, 0xbf2d1e7b,
    0xbeab420b, 0x3e1bf51e, 0x3f38a129, 0x3fa463e9, 0x3fdef9db, 0x3f7ff798, 0x3f878575, 0x3f6f79b4,
    0x3f1d59e5, 0x3df06e70, 0xbeff5f8a, 0xbf92b9b0, 0xbf5c2766, 0xbf9048fe, 0xbfa12508, 0xbf998263,
  ])

  // MARK: - §8.1 item 1: minmax on [1, 1, 1, 1, 1] (loaded directly as a weight observer)

  @Test func constantOnesSymmetricAndAsymmetric() throws {
    // o = load("minmax", base_name="weight", args=QuantizationArgs(symmetric=sym)); o(torch.tensor([[1.]*5]))
    //   sym  -> 0x3c008081 (1/127.5), zp 0;  asym -> 0x3b808081 (1/255), zp -128
    var sym = try observer(.minMax, .weight, "{}")
    let p = try #require(try sym.observe(Tensor(shape: [1, 5], repeating: 1)))
    #expect(p.scale.values.map(\.bitPattern) == [0x3c00_8081])
    #expect(p.zeroPoint.values == [0])
    var asym = try observer(.minMax, .weight, #"{"symmetric":false}"#)
    let q = try #require(try asym.observe(Tensor(shape: [1, 5], repeating: 1)))
    #expect(q.scale.values.map(\.bitPattern) == [0x3b80_8081])
    #expect(q.zeroPoint.values == [-128])
  }

  // MARK: - §8.1 item 2: EMA with averaging_constant 0.01

  @Test func movingAverageSequence() throws {
    // o = load("minmax", base_name="input", args=QuantizationArgs(observer_kwargs={"averaging_constant": 0.01}))
    // for x in ([[1,1,1,1,1]], [[1,1,1,1,1]], [[127,1,1,1,1]], [[1,1,1,1,1]], [[-128,1,1,1,1]]):
    //   s, z = o(torch.tensor(x)); past_min_vals, past_max_vals, s
    // max 2.26 after step 3, min -0.29 after step 5 (raw minima are stored unclamped).
    var o = try observer(.minMax, .input, #"{"observer_kwargs":{"averaging_constant":0.01}}"#)
    let inputs: [[Float]] = [[1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [127, 1, 1, 1, 1], [1, 1, 1, 1, 1], [-128, 1, 1, 1, 1]]
    let expected: [(UInt32, UInt32, UInt32)] = [
      (0x3f80_0000, 0x3f80_0000, 0x3c00_8081),
      (0x3f80_0000, 0x3f80_0000, 0x3c00_8081),
      (0x3f80_0000, 0x4010_a3d7, 0x3c91_350c),
      (0x3f80_0000, 0x400f_d567, 0x3c90_65cd),
      (0xbe94_7ae0, 0x400f_0907, 0x3c8f_98a0),
    ]
    for (x, (mn, mx, s)) in zip(inputs, expected) {
      let p = try #require(try o.observe(scalars(x)))
      #expect(o.state.minValues?.values.map(\.bitPattern) == [mn])
      #expect(o.state.maxValues?.values.map(\.bitPattern) == [mx])
      #expect(p.scale.values.map(\.bitPattern) == [s])
      #expect(p.zeroPoint.values == [0])
    }
  }

  // MARK: - §8.1 item 3: three observations per observer kind

  struct SequenceCase: Sendable, CustomTestStringConvertible {
    let kind: ObserverKind
    let kwargs: String
    let mins: [UInt32]?
    let maxs: [UInt32]?
    let scales: [UInt32]
    var testDescription: String { kind.rawValue }
  }

  // o = load(name, base_name="input", args=QuantizationArgs(observer_kwargs=kw))
  // for x in ([0., 0.], [-3., 1.], [-1., 3.]): s, z = o(torch.tensor([x]))
  @Test(arguments: [
    SequenceCase(
      kind: .memorylessMinMax, kwargs: "{}", mins: nil, maxs: nil,
      scales: [0x3400_0000, 0x3cc0_c0c1, 0x3cc0_c0c1]),
    SequenceCase(
      kind: .staticMinMax, kwargs: "{}", mins: [0x0000_0000, 0xc040_0000, 0xc040_0000],
      maxs: [0x0000_0000, 0x3f80_0000, 0x4040_0000], scales: [0x3400_0000, 0x3cc0_c0c1, 0x3cc0_c0c1]),
    SequenceCase(
      kind: .minMax, kwargs: #"{"averaging_constant":0.1}"#, mins: [0x0000_0000, 0xbe99_999a, 0xbebd_70a4],
      maxs: [0x0000_0000, 0x3dcc_cccd, 0x3ec7_ae15], scales: [0x3400_0000, 0x3b1a_33ce, 0x3b48_768c]),
    SequenceCase(
      kind: .memorylessMSE, kwargs: "{}", mins: nil, maxs: nil, scales: [0x3400_0000, 0x3cc0_c0c1, 0x3cc0_c0c1]),
    SequenceCase(
      kind: .mse, kwargs: #"{"averaging_constant":0.1}"#, mins: [0x0000_0000, 0xbe99_999a, 0xbebd_70a4],
      maxs: [0x0000_0000, 0x3dcc_cccd, 0x3ec7_ae15], scales: [0x3400_0000, 0x3b1a_33ce, 0x3b48_768c]),
  ])
  func threeObservations(_ c: SequenceCase) throws {
    var o = try observer(c.kind, .input, #"{"observer_kwargs":"# + c.kwargs + "}")
    for (i, x) in [[Float(0), 0], [-3, 1], [-1, 3]].enumerated() {
      let p = try #require(try o.observe(scalars(x)))
      #expect(p.scale.values.map(\.bitPattern) == [c.scales[i]], "step \(i)")
      if let mins = c.mins, let maxs = c.maxs {
        #expect(o.state.minValues?.values.map(\.bitPattern) == [mins[i]], "step \(i)")
        #expect(o.state.maxValues?.values.map(\.bitPattern) == [maxs[i]], "step \(i)")
      } else {
        #expect(o.state == ObserverState(), "memoryless observers keep no state")
      }
    }
  }

  // MARK: - §8.1 item 4: mse on arange(24) / 24

  struct MSELossCase: Sendable, CustomTestStringConvertible {
    let args: String
    let scales: [UInt32]
    let zeroPoint: Float
    let loss: Double
    var testDescription: String { args }
  }

  // W = torch.arange(24, dtype=torch.float32).reshape(6, 4) / 24
  // o = load("mse", base_name="weight", args=a); s, z = o(W)
  // loss = ((W - fake_quantize(W, s, z, a)) ** 2).mean()   (4 significant digits, §8.1 table)
  @Test(arguments: [
    MSELossCase(args: #"{"strategy":"tensor"}"#, scales: [0x3bf64ba1], zeroPoint: 0, loss: 4.8103e-06),
    MSELossCase(args: #"{"strategy":"tensor","symmetric":false}"#, scales: [0x3b764ba1], zeroPoint: -128, loss: 1.1258e-06),
    MSELossCase(
      args: #"{"strategy":"channel"}"#,
      scales: [0x3a808081, 0x3b15eb40, 0x3b6b9641, 0x3ba0a0a1, 0x3bcb7621, 0x3bf64ba1], zeroPoint: 0,
      loss: 2.5675e-06),
    MSELossCase(
      args: #"{"strategy":"channel","symmetric":false}"#,
      scales: [0x3a008081, 0x3a95eb40, 0x3aeb9641, 0x3b20a0a1, 0x3b4b7621, 0x3b764ba1], zeroPoint: -128,
      loss: 2.3696e-07),
    MSELossCase(
      args: #"{"strategy":"group","group_size":2}"#,
      scales: [
        0x39ab5601, 0x3a808081, 0x3ad62b81, 0x3b15eb40, 0x3b40c0c1, 0x3b6b9641, 0x3b8b35e1, 0x3ba0a0a1,
        0x3bb60b60, 0x3bcb7621, 0x3be0e0e1, 0x3bf64ba1,
      ], zeroPoint: 0, loss: 3.1282e-06),
    MSELossCase(
      args: #"{"strategy":"group","group_size":2,"symmetric":false}"#,
      scales: [
        0x392b5601, 0x3a008081, 0x3a562b81, 0x3a95eb40, 0x3ac0c0c1, 0x3aeb9641, 0x3b0b35e1, 0x3b20a0a1,
        0x3b360b60, 0x3b4b7621, 0x3b60e0e1, 0x3b764ba1,
      ], zeroPoint: -128, loss: 1.3794e-07),
    MSELossCase(
      args: #"{"strategy":"block","block_structure":[3,2]}"#,
      scales: [0x3b40c0c1, 0x3b6b9641, 0x3be0e0e1, 0x3bf64ba1], zeroPoint: 0, loss: 2.8968e-06),
    MSELossCase(
      args: #"{"strategy":"block","block_structure":[3,2],"symmetric":false}"#,
      scales: [0x3ac0c0c1, 0x3aeb9641, 0x3b60e0e1, 0x3b764ba1], zeroPoint: -128, loss: 5.6068e-07),
  ])
  func mseOnARange(_ c: MSELossCase) throws {
    let args = try decodeArgs(c.args)
    let w = Tensor(shape: [6, 4], values: (0..<24).map { Float($0) / 24 })
    var o = try Observer(kind: .mse, baseName: .weight, args: args)
    let p = try #require(try o.observe(w))
    #expect(p.scale.values.map(\.bitPattern) == c.scales, "\(hexList(p.scale.values))")
    #expect(p.zeroPoint.values.allSatisfy { $0 == c.zeroPoint })
    let q = try args.fakeQuantized(w, as: .weight, parameters: p)
    let loss = zip(w.values, q.values).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / 24
    #expect(abs(loss - c.loss) <= 1e-4 * c.loss, "loss \(loss)")
  }

  // MARK: - §8.2 observer vectors on the 2×16 weight

  struct WeightCase: Sendable, CustomTestStringConvertible {
    let kind: ObserverKind
    let args: String
    let scales: [UInt32]
    let zeroPoints: [Float]
    var globalScale: UInt32? = nil
    var testDescription: String { "\(kind.rawValue) \(args)" }
  }

  static let int4g8 = #"{"num_bits":4,"group_size":8,"strategy":"group"}"#
  static let int4g8Asym = #"{"num_bits":4,"group_size":8,"strategy":"group","symmetric":false}"#
  static let nvfp4 =
    #"{"num_bits":4,"type":"float","group_size":16,"strategy":"tensor_group","scale_dtype":"torch.float8_e4m3fn"}"#

  // run(name, "weight", W, **args): g = o.get_global_scale(W) for tensor_group; s, z = o(W)
  static let weightCases: [WeightCase] = [
    WeightCase(
      kind: .memorylessMinMax, args: int4g8, scales: [0x3e596dfe, 0x3e78a090, 0x3e6dd750, 0x3e2be33c],
      zeroPoints: [0, 0, 0, 0]),
    WeightCase(
      kind: .memorylessMinMax, args: int4g8Asym, scales: [0x3dd96dfe, 0x3e02ac1d, 0x3e0dc143, 0x3dffcee9],
      zeroPoints: [-8, 6, -6, 2]),
    WeightCase(
      kind: .memorylessMinMax, args: nvfp4, scales: [0x43e00000, 0x43d00000], zeroPoints: [0, 0],
      globalScale: 0x44b88395),
    WeightCase(
      kind: .memorylessMinMax, args: #"{"num_bits":8,"strategy":"channel"}"#, scales: [0x3c6a0088, 0x3c5fd9b5],
      zeroPoints: [0, 0]),
    WeightCase(
      kind: .memorylessMSE, args: int4g8, scales: [0x3e596dfe, 0x3e5fc3b4, 0x3e6dd750, 0x3e26bb23],
      zeroPoints: [0, 0, 0, 0]),
    WeightCase(
      kind: .memorylessMSE, args: int4g8Asym, scales: [0x3dd7415f, 0x3e02ac1d, 0x3e0c565f, 0x3dfd400b],
      zeroPoints: [-8, 6, -6, 2]),
    // Generation B searches NVFP4 with the module's global scale and FP8-rounded scales
    // (lc 0.14 drops both): g is 0x44be387a (1521.76) as in §8.2, but the local ranges stay
    // unshrunk.
    WeightCase(
      kind: .memorylessMSE, args: nvfp4, scales: [0x43e00000, 0x43e00000], zeroPoints: [0, 0],
      globalScale: 0x44be387a),
    WeightCase(
      kind: .memorylessMSE, args: #"{"num_bits":8,"strategy":"channel"}"#, scales: [0x3c6a0088, 0x3c5fd9b5],
      zeroPoints: [0, 0]),
    WeightCase(
      kind: .memorylessMSE, args: #"{"num_bits":8,"type":"float","strategy":"channel"}"#,
      scales: [0x3b853172, 0x3b7ed468], zeroPoints: [0, 0]),
    WeightCase(
      kind: .memorylessMSE,
      args: #"{"num_bits":4,"group_size":8,"strategy":"group","observer_kwargs":{"norm":2.0,"grid":50,"maxshrink":0.5,"patience":3}}"#,
      scales: [0x3e596dfe, 0x3e5fc3b4, 0x3e6dd750, 0x3e28732c], zeroPoints: [0, 0, 0, 0]),
  ]

  @Test(arguments: weightCases)
  func weightVectors(_ c: WeightCase) throws {
    var o = try observer(c.kind, .weight, c.args)
    var g: Float? = nil
    if let bits = c.globalScale {
      g = try o.observeGlobalScale(Self.w)
      #expect(g?.bitPattern == bits, "global scale \(g.map(hexBits) ?? "nil")")
    }
    let p = try #require(try o.observe(Self.w, globalScale: g))
    #expect(p.scale.values.map(\.bitPattern) == c.scales, "\(hexList(p.scale.values))")
    #expect(sameFloats(p.zeroPoint.values, c.zeroPoints), "\(p.zeroPoint.values)")
  }

  struct SearchCase: Sendable, CustomTestStringConvertible {
    let args: String
    let mins: [UInt32]
    let maxs: [UInt32]
    var testDescription: String { args }
  }

  // _forward_with_minmax(W) of memoryless_mse: the searched (min, max) per group
  @Test(arguments: [
    SearchCase(
      args: int4g8, mins: [0x3dcc7577, 0xbfd1c779, 0xbeab420b, 0xbf9c4f71],
      maxs: [0x3fcbd71e, 0x3dabaf82, 0x3fdef9db, 0x3f18a170]),
    SearchCase(
      args: int4g8Asym, mins: [0x3dca6a0d, 0xbfe91687, 0xbea98b9f, 0xbf9f8880],
      maxs: [0x3fc9cd49, 0x3dbec302, 0x3fdcbf0a, 0x3f1bc713]),
    SearchCase(
      args: #"{"num_bits":4,"group_size":8,"strategy":"group","observer_kwargs":{"norm":2.0,"grid":50,"maxshrink":0.5,"patience":3}}"#,
      mins: [0x3dcc7577, 0xbfd1c779, 0xbeab420b, 0xbf9debf9], maxs: [0x3fcbd71e, 0x3dabaf82, 0x3fdef9db, 0x3f1a3442]),
  ])
  func mseSearchRanges(_ c: SearchCase) throws {
    let args = try decodeArgs(c.args)
    let layout = try GroupLayout(shape: [2, 16], baseName: .weight, args: args)
    let (rawMin, rawMax) = RangeReduction.minMax(Self.w.values, layout: layout)
    let settings = try ObserverSettings(kind: .memorylessMSE, kwargs: args.observerKwargs)
    let (mn, mx) = try MSEGridSearch(settings: settings).search(
      Self.w.values, layout: layout, args: args, globalScale: nil, optimizingGlobalScale: false,
      rawMin: rawMin, rawMax: rawMax)
    #expect(mn.map(\.bitPattern) == c.mins, "\(hexList(mn))")
    #expect(mx.map(\.bitPattern) == c.maxs, "\(hexList(mx))")
  }

  @Test func nvfp4SearchKeepsTheRawRanges() throws {
    // run("memoryless_mse", "weight", W, **nvfp4): _forward_with_minmax returns
    //   min [0xbfe91687, 0xbfa12508], max [0x3fcbd71e, 0x3fdef9db]   (the raw group ranges;
    // §8.2's ct 0.19 values [-1.76637006, -1.2589426] / [1.54472733, 1.74199998] are shrunk)
    let args = try decodeArgs(Self.nvfp4)
    let layout = try GroupLayout(shape: [2, 16], baseName: .weight, args: args)
    let (rawMin, rawMax) = RangeReduction.minMax(Self.w.values, layout: layout)
    let (mn, mx) = try MSEGridSearch(settings: ObserverSettings()).search(
      Self.w.values, layout: layout, args: args, globalScale: f32(0x44be_387a), optimizingGlobalScale: false,
      rawMin: rawMin, rawMax: rawMax)
    #expect(mn.map(\.bitPattern) == [0xbfe9_1687, 0xbfa1_2508], "\(hexList(mn))")
    #expect(mx.map(\.bitPattern) == [0x3fcb_d71e, 0x3fde_f9db], "\(hexList(mx))")
  }

  // MARK: - §8.2 EMA table (input, tensor, int8): observations a, 3a, 0.5a

  static let a = f32s([0x00000000, 0x3f0c4427, 0x3f8a7b69, 0x3fb6662b, 0x3fb6e610, 0x3f835267, 0x3e862f5a, 0xbeb399dc])

  struct EMACase: Sendable, CustomTestStringConvertible {
    let kind: ObserverKind
    /// (min, max, scale) after each observation.
    let steps: [[UInt32]]
    var testDescription: String { kind.rawValue }
  }

  @Test(arguments: [
    EMACase(
      kind: .minMax,
      steps: [
        [0xbeb399dc, 0x3fb6e610, 0x3c379dae], [0xbeb7316b, 0x3fba8e81, 0x3c3b49cb],
        [0xbeb64256, 0x3fb99b07, 0x3c3a555c],
      ]),
    EMACase(
      kind: .staticMinMax,
      steps: [
        [0xbeb399dc, 0x3fb6e610, 0x3c379dae], [0xbf86b365, 0x40892c8c, 0x3d09b642],
        [0xbf86b365, 0x40892c8c, 0x3d09b642],
      ]),
    EMACase(
      kind: .memorylessMinMax,
      steps: [
        [0xbeb399dc, 0x3fb6e610, 0x3c379dae], [0xbf86b365, 0x40892c8c, 0x3d09b642],
        [0xbe3399dc, 0x3f36e610, 0x3bb79dae],
      ]),
    EMACase(
      kind: .mse,
      steps: [
        [0xbeb399dc, 0x3fb6e610, 0x3c379dae], [0xbeb7316b, 0x3fba8e81, 0x3c3b49cb],
        [0xbeb64256, 0x3fb99b07, 0x3c3a555c],
      ]),
  ])
  func emaTable(_ c: EMACase) throws {
    // for x in (a, 3*a, 0.5*a): s, z, mn, mx = o._forward_with_minmax(x.reshape(1, 1, 8))
    var o = try observer(c.kind, .input, #"{"num_bits":8,"strategy":"tensor"}"#)
    for (factor, step) in zip([Float(1), 3, 0.5], c.steps) {
      let x = Tensor(shape: [1, 1, 8], values: Self.a.map { factor * $0 })
      let p = try #require(try o.observe(x))
      #expect(p.scale.values.map(\.bitPattern) == [step[2]], "×\(factor)")
      if c.kind != .memorylessMinMax {
        #expect(o.state.minValues?.values.map(\.bitPattern) == [step[0]], "×\(factor)")
        #expect(o.state.maxValues?.values.map(\.bitPattern) == [step[1]], "×\(factor)")
      }
    }
  }

  @Test func averagingConstantOneOverwrites() throws {
    // o = load("minmax", "input", QuantizationArgs(observer_kwargs={"averaging_constant": 1.0}))
    // o([[1., -2.]]) -> state (-2, 1), s 0x3c808081; o([[0.5, 4.]]) -> state (0.5, 4), s 0x3d008081
    var o = try observer(.minMax, .input, #"{"observer_kwargs":{"averaging_constant":1}}"#)
    let p1 = try #require(try o.observe(scalars([1, -2])))
    #expect(o.state.minValues?.values == [-2] && o.state.maxValues?.values == [1])
    #expect(p1.scale.values.map(\.bitPattern) == [0x3c80_8081])
    let p2 = try #require(try o.observe(scalars([0.5, 4])))
    #expect(o.state.minValues?.values == [0.5] && o.state.maxValues?.values == [4])
    #expect(p2.scale.values.map(\.bitPattern) == [0x3d00_8081])
  }

  // Three observations of different batch sizes, int4 asym group 4, c = 0.3:
  // xs[0] (1, 1, 8), xs[1] (2, 1, 8), xs[2] (1, 1, 8)
  static let xs: [Tensor] = [
    Tensor(shape: [1, 1, 8], values: [0.3, -1.7, 2.2, 0.9, -0.4, 0.05, 1.1, -2.6]),
    Tensor(
      shape: [2, 1, 8],
      values: [1.3, -0.7, 0.2, 0.8, -3.4, 0.5, 2.1, -0.6, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]),
    Tensor(shape: [1, 1, 8], values: [-0.3, -0.2, -0.1, -0.9, 4.4, 0.0, 0.1, 0.2]),
  ]

  @Test func movingAverageOfGroupedActivations() throws {
    // o = load("minmax", "input", QuantizationArgs(num_bits=4, symmetric=False, strategy="group",
    //          group_size=4, observer_kwargs={"averaging_constant": 0.3}))
    var o = try observer(
      .minMax, .input,
      #"{"num_bits":4,"symmetric":false,"strategy":"group","group_size":4,"observer_kwargs":{"averaging_constant":0.3}}"#)
    let expected: [(mins: [UInt32], maxs: [UInt32], scales: [UInt32], zps: [Float])] = [
      ([0xbfd9999a, 0xc0266666], [0x400ccccd, 0x3f8ccccd], [0x3e851eb9, 0x3e7c962f], [-1, 3]),
      ([0xbfb33334, 0xc035c290], [0x3ff70a3d, 0x3fb33333], [0x3e6353f7, 0x3e90b9b0], [-2, 2]),
      ([0xbfa00001, 0xbffe76c9], [0x3fa91687, 0x40133333], [0x3e2f837c, 0x3e925d1e], [-1, -1]),
    ]
    for (x, e) in zip(Self.xs, expected) {
      let p = try #require(try o.observe(x))
      #expect(o.state.minValues?.shape == [2])
      #expect(o.state.minValues?.values.map(\.bitPattern) == e.mins)
      #expect(o.state.maxValues?.values.map(\.bitPattern) == e.maxs)
      #expect(p.scale.values.map(\.bitPattern) == e.scales)
      #expect(p.zeroPoint.values == e.zps)
    }
  }

  struct GlobalAccumulationCase: Sendable, CustomTestStringConvertible {
    let kind: ObserverKind
    let kwargs: String
    /// (global scale, running global min, running global max) after each observation.
    let steps: [[UInt32]]
    var testDescription: String { kind.rawValue }
  }

  // o = load(name, "input", QuantizationArgs(num_bits=4, type="float", strategy="tensor_group",
  //          group_size=4, scale_dtype="torch.float8_e4m3fn", dynamic="local", observer_kwargs=kw))
  // for x in xs: o.get_global_scale(x), o.past_global_min_vals, o.past_global_max_vals
  @Test(arguments: [
    GlobalAccumulationCase(
      kind: .staticMinMax, kwargs: "{}",
      steps: [[0x44813b14, 0xc0266666, 0x400ccccd], [0x4445a5a5, 0xc059999a, 0x400ccccd], [0x4418ba2e, 0xc059999a, 0x408ccccd]]),
    GlobalAccumulationCase(
      kind: .minMax, kwargs: #"{"averaging_constant":0.3}"#,
      steps: [[0x44813b14, 0xc0266666, 0x400ccccd], [0x446c9ea5, 0xc035c290, 0x400ae148], [0x446cb3fb, 0xc0108313, 0x4035b22e]]),
  ])
  func globalScaleAccumulates(_ c: GlobalAccumulationCase) throws {
    var o = try observer(
      c.kind, .input,
      #"{"num_bits":4,"type":"float","strategy":"tensor_group","group_size":4,"scale_dtype":"torch.float8_e4m3fn","dynamic":"local","observer_kwargs":"#
        + c.kwargs + "}")
    for (x, step) in zip(Self.xs, c.steps) {
      let g = try #require(try o.observeGlobalScale(x))
      #expect(g.bitPattern == step[0], "\(hexBits(g))")
      #expect(o.state.globalMin?.bitPattern == step[1])
      #expect(o.state.globalMax?.bitPattern == step[2])
    }
  }

  @Test func nvfp4ActivationWithStaticGlobalScale() throws {
    // NVFP4 preset input args with static_minmax; for x in (W, 2W) reshaped (1, 2, 16):
    //   g = o.get_global_scale(x); holder.input_global_scale = g; s, z = o(x)
    //   -> g [0x44b88395, 0x44388395], s [448] both times
    let args = try #require(try PresetSchemes.scheme(named: "NVFP4").inputActivations)
    var o = try Observer(baseName: .input, args: args)
    #expect(o.kind == .staticMinMax)
    for (factor, bits) in zip([Float(1), 2], [UInt32(0x44b8_8395), 0x4438_8395]) {
      let x = Tensor(shape: [1, 2, 16], values: Self.w.values.map { factor * $0 })
      let g = try #require(try o.observeGlobalScale(x))
      #expect(g.bitPattern == bits)
      let p = try #require(try o.observe(x, globalScale: g))
      #expect(p.scale.values == [448])
    }
  }

  @Test func restoredStateContinuesTheAverage() throws {
    // Saving and restoring `state` must equal one uninterrupted observer.
    let json = #"{"num_bits":4,"symmetric":false,"strategy":"group","group_size":4,"observer_kwargs":{"averaging_constant":0.3}}"#
    var whole = try observer(.minMax, .input, json)
    for x in Self.xs { _ = try whole.observe(x) }
    var first = try observer(.minMax, .input, json)
    _ = try first.observe(Self.xs[0])
    let saved = try JSONDecoder().decode(ObserverState.self, from: JSONEncoder().encode(first.state))
    var second = try observer(.minMax, .input, json)
    second.state = saved
    _ = try second.observe(Self.xs[1])
    _ = try second.observe(Self.xs[2])
    #expect(second.state == whole.state)
  }

  // MARK: - Registry names and kwargs

  @Test(arguments: [
    ("memoryless_minmax", ObserverKind.memorylessMinMax), ("Memoryless-MinMax", .memorylessMinMax),
    ("STATIC MINMAX", .staticMinMax), ("static-minmax", .staticMinMax), ("MinMax", .minMax),
    ("memoryless mse", .memorylessMSE), ("MEMORYLESS_MSE", .memorylessMSE), ("MSE", .mse),
  ])
  func registryNamesAreNormalized(_ name: String, _ kind: ObserverKind) throws {
    // standardize_lookup_name: lower-case, "_" and " " -> "-"; all resolve in lc 0.10.
    #expect(try ObserverKind(registryName: name) == kind)
  }

  @Test(arguments: ["ema", "static__minmax", "minmax2", "", "nvfp4_expanded_imatrix", "fouroversix"])
  func unknownObserverNames(_ name: String) {
    // Observer.load_from_registry(name, ...) -> KeyError in lc 0.10; the last two are
    // llmcompressor 0.14.0.1 names this package does not reproduce (nvfp4_expanded_mse
    // and imatrix_mse, which it does, are in ExpandedSearchObserverTests).
    #expect(throws: ObserverError.unknownObserver(name)) { try ObserverKind(registryName: name) }
    let message = ObserverError.unknownObserver(name).description
    for kind in ObserverKind.allCases { #expect(message.contains(kind.rawValue)) }
  }

  @Test func observerNamedInTheArguments() throws {
    #expect(try Observer(baseName: .weight, args: QuantizationArgs()).kind == .memorylessMinMax)
    #expect(try Observer(baseName: .input, args: QuantizationArgs(observer: "Static_MinMax")).kind == .staticMinMax)
    // dynamic=True has no observer; the lookup falls back to memoryless_minmax.
    #expect(try Observer(baseName: .input, args: QuantizationArgs(strategy: .token, dynamic: .on)).kind == .memorylessMinMax)
    #expect(throws: ObserverError.unknownObserver("ema")) {
      try Observer(baseName: .input, args: QuantizationArgs(observer: "ema"))
    }
  }

  @Test func weightObserverReplacements() {
    // initialize_observer (lc 0.10): minmax/static_minmax -> memoryless_minmax, mse -> memoryless_mse
    #expect(ObserverKind.minMax.forWeights == .memorylessMinMax)
    #expect(ObserverKind.staticMinMax.forWeights == .memorylessMinMax)
    #expect(ObserverKind.mse.forWeights == .memorylessMSE)
    #expect(ObserverKind.memorylessMSE.forWeights == .memorylessMSE)
    #expect(ObserverKind.memorylessMinMax.forWeights == .memorylessMinMax)
  }

  @Test func settingsDefaults() throws {
    // MemorylessMSEObserver: maxshrink 0.20, patience 5, grid 100.0, norm 2.4;
    // MovingAverageObserverBase: averaging_constant 0.01. int(0.2 * 100) = 20 steps.
    let s = try ObserverSettings(kind: .mse, kwargs: [:])
    #expect(s == ObserverSettings())
    #expect(s.averagingConstant == 0.01 && s.maxShrink == 0.2 && s.patience == 5 && s.grid == 100 && s.norm == 2.4)
    #expect(s.searchSteps == 20)
    #expect(s.shrinkFactor(0) == 1)
    #expect(s.shrinkFactor(1).bitPattern == Float(1 - 1.0 / 100).bitPattern)
    // int(0.5556 * 200) == 111
    let custom = try ObserverSettings(kind: .memorylessMSE, kwargs: ["maxshrink": .number(0.5556), "grid": .number(200)])
    #expect(custom.searchSteps == 111)
  }

  struct KwargCase: Sendable, CustomTestStringConvertible {
    let kind: ObserverKind
    let key: String
    let value: ObserverKwarg
    let error: ObserverError
    var testDescription: String { "\(kind.rawValue) \(key)=\(value)" }
  }

  @Test(arguments: [
    KwargCase(
      kind: .minMax, key: "maxshrink", value: .number(0.5), error: .unknownKwarg(observer: "minmax", key: "maxshrink")),
    KwargCase(
      kind: .memorylessMinMax, key: "averaging_constant", value: .number(0.1),
      error: .unknownKwarg(observer: "memoryless_minmax", key: "averaging_constant")),
    KwargCase(
      kind: .staticMinMax, key: "grid", value: .number(10), error: .unknownKwarg(observer: "static_minmax", key: "grid")),
    KwargCase(
      kind: .memorylessMSE, key: "averaging_constant", value: .number(0.1),
      error: .unknownKwarg(observer: "memoryless_mse", key: "averaging_constant")),
    KwargCase(
      kind: .minMax, key: "averaging_constant", value: .number(0),
      error: .invalidKwarg(observer: "minmax", key: "averaging_constant", expected: "a number in (0, 1]")),
    KwargCase(
      kind: .minMax, key: "averaging_constant", value: .string("fast"),
      error: .invalidKwarg(observer: "minmax", key: "averaging_constant", expected: "a number in (0, 1]")),
    KwargCase(
      kind: .mse, key: "maxshrink", value: .number(1.5),
      error: .invalidKwarg(observer: "mse", key: "maxshrink", expected: "a number in [0, 1]")),
    KwargCase(
      kind: .mse, key: "grid", value: .number(0), error: .invalidKwarg(observer: "mse", key: "grid", expected: "a number in (0, 1000]")),
    KwargCase(
      kind: .mse, key: "norm", value: .bool(true), error: .invalidKwarg(observer: "mse", key: "norm", expected: "a number in (0, 100]")),
    KwargCase(
      kind: .mse, key: "patience", value: .number(-1),
      error: .invalidKwarg(observer: "mse", key: "patience", expected: "a number in [0, 1000000]")),
  ])
  func kwargsAreValidated(_ c: KwargCase) throws {
    var args = try QuantizationArgs()
    args.observerKwargs = [c.key: c.value]
    #expect(throws: c.error) { try Observer(kind: c.kind, baseName: .input, args: args) }
  }

  /// A refused keyword names the ones the observer takes, or says it takes none.
  @Test func unknownKwargsNameTheAcceptedOnes() {
    #expect(ObserverError.unknownKwarg(observer: "minmax", key: "grid").description
      == "observer 'minmax' takes no keyword argument 'grid': use one of averaging_constant")
    #expect(ObserverError.unknownKwarg(observer: "memoryless_minmax", key: "maxshrink").description
      == "observer 'memoryless_minmax' takes no keyword arguments: remove 'maxshrink'")
  }

  @Test func kwargsParseFromJSONAndCommandLine() throws {
    let args = try decodeArgs(#"{"observer_kwargs":{"grid":50,"norm":2.0,"maxshrink":0.5,"patience":3}}"#)
    let s = try ObserverSettings(kind: .memorylessMSE, kwargs: args.observerKwargs)
    #expect(s.grid == 50 && s.norm == 2 && s.maxShrink == 0.5 && s.patience == 3)
    #expect(ObserverKwarg(parsing: "0.25") == .number(0.25))
    #expect(ObserverKwarg(parsing: "TRUE") == .bool(true))
    #expect(ObserverKwarg(parsing: "fast") == .string("fast"))
  }

  // MARK: - Refusals and empty values

  @Test func emptyValueReturnsNilAndKeepsState() throws {
    var o = try observer(.staticMinMax, .input, "{}")
    _ = try o.observe(scalars([-1, 2]))
    _ = try o.observeGlobalScale(scalars([-1, 2]))
    let before = o.state
    #expect(try o.observe(Tensor(shape: [0, 4], values: [])) == nil)
    #expect(try o.observeGlobalScale(Tensor(shape: [0], values: [])) == nil)
    #expect(o.state == before)
    // A fresh observer stays empty.
    var fresh = try observer(.minMax, .input, "{}")
    #expect(try fresh.observe(Tensor(shape: [2, 0], values: [])) == nil)
    #expect(fresh.state == ObserverState())
  }

  @Test(arguments: [ObserverKind.staticMinMax, .minMax, .mse, .memorylessMSE, .memorylessMinMax])
  func nonFiniteValuesAreRefused(_ kind: ObserverKind) throws {
    var o = try observer(kind, .input, #"{"num_bits":4,"strategy":"group","group_size":2}"#)
    _ = try o.observe(Tensor(shape: [1, 4], values: [1, -2, 3, -4]))
    let before = o.state
    let bad = Tensor(shape: [2, 4], values: [1, 2, 3, .nan, 5, .infinity, 7, -.infinity])
    #expect(throws: ObserverError.nonFinite(count: 3, firstIndex: 3, shape: [2, 4])) { try o.observe(bad) }
    #expect(o.state == before)
    #expect(throws: ObserverError.nonFinite(count: 3, firstIndex: 3, shape: [2, 4])) { try o.observeGlobalScale(bad) }
    #expect(o.state == before)
    let nanOnly = Tensor(shape: [1, 4], values: [.nan, 0, 0, 0])
    #expect(throws: ObserverError.nonFinite(count: 1, firstIndex: 0, shape: [1, 4])) { try o.observe(nanOnly) }
    #expect(o.state == before)
  }

  @Test func tensorGroupNeedsTheGlobalScale() throws {
    var o = try observer(.memorylessMinMax, .weight, Self.nvfp4)
    #expect(throws: ObserverError.missingGlobalScale) { try o.observe(Self.w) }
    #expect(ObserverError.missingGlobalScale.description.contains("global scale"))
  }

  @Test func shapeChangesAreRefused() throws {
    var o = try observer(.staticMinMax, .weight, #"{"strategy":"channel"}"#)
    _ = try o.observe(Tensor(shape: [2, 4], repeating: 1))
    let before = o.state
    #expect(throws: ObserverError.shapeChanged(running: [2, 1], observed: [3, 1])) {
      try o.observe(Tensor(shape: [3, 4], repeating: 1))
    }
    #expect(o.state == before)
  }

  @Test func layoutAndArgumentErrorsAreWrapped() throws {
    var token = try Observer(kind: .memorylessMinMax, baseName: .weight, args: QuantizationArgs(strategy: .token, dynamic: .on))
    #expect(throws: ObserverError.layout(.unsupported(.token, .weight))) {
      try token.observe(Tensor(shape: [2, 2], repeating: 1))
    }
    var grouped = try observer(.memorylessMinMax, .weight, #"{"group_size":4}"#)
    #expect(throws: ObserverError.layout(.groupDoesNotDivide(groupSize: 4, dimension: 6, shape: [2, 6]))) {
      try grouped.observe(Tensor(shape: [2, 6], repeating: 1))
    }
    var fp4 = try Observer(
      kind: .memorylessMSE, baseName: .input, args: QuantizationArgs(numBits: 4, type: .float, symmetric: false))
    #expect(throws: ObserverError.arguments(.asymmetricFP4)) { try fp4.observe(scalars([1, -2])) }
    var fp4Plain = try Observer(
      kind: .memorylessMinMax, baseName: .input, args: QuantizationArgs(numBits: 4, type: .float, symmetric: false))
    #expect(throws: ObserverError.arguments(.asymmetricFP4)) { try fp4Plain.observe(scalars([1, -2])) }
  }

  @Test func memorylessObserversKeepNoGlobalState() throws {
    var o = try observer(.memorylessMinMax, .weight, Self.nvfp4)
    let g1 = try #require(try o.observeGlobalScale(Self.w))
    #expect(o.state == ObserverState())
    let g2 = try #require(try o.observeGlobalScale(Tensor(shape: [2, 16], values: Self.w.values.map { $0 / 2 })))
    #expect(g1.bitPattern == 0x44b8_8395)
    #expect(g2 == 2 * g1)
  }
}
