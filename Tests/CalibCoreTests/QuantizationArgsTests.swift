import CalibCore
import Foundation
import Testing

// Validation, inference and JSON of QuantizationArgs / QuantizationScheme / presets against
// compressed-tensors 0.14.0. Each expectation was produced in the reference venv with
//   from compressed_tensors.quantization import QuantizationArgs, QuantizationScheme
//   QuantizationArgs(**kwargs).model_dump(mode="json")   # or: raises
// where `kwargs` is the JSON object of the case.

/// One set of arguments the reference rejects, with the error CalibCore must name.
struct ArgsRejection: Sendable, CustomTestStringConvertible {
  let json: String
  let error: QuantizationArgsError
  var testDescription: String { json }
}

/// One set of arguments whose `invalidValue` error must name `field`.
struct ArgsBadValue: Sendable, CustomTestStringConvertible {
  let json: String
  let field: String
  var testDescription: String { json }
}

/// One set of arguments the reference accepts, with its `model_dump(mode="json")`.
struct ArgsResolution: Sendable, CustomTestStringConvertible {
  let json: String
  let resolved: String
  var testDescription: String { json }
}

@Suite struct QuantizationArgsTests {
  // Every case raises ValueError/ValidationError (or NotImplementedError for float
  // widths) in QuantizationArgs(**kwargs) on ct 0.14.0.
  static let rejections: [ArgsRejection] = [
    ArgsRejection(json: #"{"strategy":"token"}"#, error: .staticTokenStrategy),
    ArgsRejection(json: #"{"strategy":"TOKEN","dynamic":false}"#, error: .staticTokenStrategy),
    ArgsRejection(json: #"{"strategy":"group"}"#, error: .groupSizeRequired(.group)),
    ArgsRejection(json: #"{"strategy":"tensor_group"}"#, error: .groupSizeRequired(.tensorGroup)),
    ArgsRejection(json: #"{"strategy":"group","group_size":0}"#, error: .groupSizeRequired(.group)),
    ArgsRejection(json: #"{"strategy":"group","group_size":-1}"#, error: .groupSizeRequired(.group)),
    ArgsRejection(json: #"{"group_size":0}"#, error: .invalidGroupSize(0)),
    ArgsRejection(json: #"{"group_size":-2}"#, error: .invalidGroupSize(-2)),
    ArgsRejection(json: #"{"group_size":-2,"strategy":"tensor"}"#, error: .invalidGroupSize(-2)),
    ArgsRejection(
      json: #"{"group_size":128,"strategy":"channel"}"#,
      error: .groupSizeRequiresGroupStrategy(strategy: .channel, groupSize: 128)),
    ArgsRejection(
      json: #"{"group_size":16,"strategy":"tensor"}"#,
      error: .groupSizeRequiresGroupStrategy(strategy: .tensor, groupSize: 16)),
    ArgsRejection(json: #"{"strategy":"block"}"#, error: .blockStructureRequired),
    ArgsRejection(json: #"{"block_structure":[2,4]}"#, error: .blockStructureRequiresBlockStrategy),
    ArgsRejection(
      json: #"{"strategy":"channel","block_structure":[2,4]}"#,
      error: .blockStructureRequiresBlockStrategy),
    ArgsRejection(
      json: #"{"strategy":"block","block_structure":[1,2,3]}"#,
      error: .invalidBlockStructure("[1, 2, 3]")),
    ArgsRejection(
      json: #"{"strategy":"channel","dynamic":true}"#, error: .dynamicStrategyUnsupported(.channel)),
    ArgsRejection(
      json: #"{"strategy":"block","block_structure":[2,2],"dynamic":true}"#,
      error: .dynamicStrategyUnsupported(.block)),
    ArgsRejection(
      json: #"{"strategy":"attn_head","dynamic":true}"#,
      error: .dynamicStrategyUnsupported(.attentionHead)),
    ArgsRejection(
      json: #"{"strategy":"attn_head","dynamic":"local"}"#,
      error: .dynamicStrategyUnsupported(.attentionHead)),
    ArgsRejection(
      json: #"{"strategy":"group","group_size":16,"dynamic":"local"}"#,
      error: .localRequiresTensorGroup(.group)),
    ArgsRejection(json: #"{"strategy":"tensor","dynamic":"local"}"#, error: .localRequiresTensorGroup(.tensor)),
    ArgsRejection(json: #"{"strategy":"token","dynamic":"LOCAL"}"#, error: .localRequiresTensorGroup(.token)),
    ArgsRejection(
      json: #"{"strategy":"tensor","actorder":"group"}"#, error: .actorderRequiresGroupStrategy(.tensor)),
    ArgsRejection(
      json: #"{"strategy":"channel","actorder":true}"#, error: .actorderRequiresGroupStrategy(.channel)),
    ArgsRejection(
      json: #"{"strategy":"block","block_structure":[2,2],"actorder":"static"}"#,
      error: .actorderRequiresGroupStrategy(.block)),
    // NotImplementedError("Only num_bits in (8) are supported") from zp_dtype inference.
    ArgsRejection(json: #"{"type":"float","num_bits":6}"#, error: .unsupportedFloatBits(6)),
    ArgsRejection(json: #"{"type":"float","num_bits":16}"#, error: .unsupportedFloatBits(16)),
    // extra="forbid"
    ArgsRejection(json: #"{"bogus":1}"#, error: .unknownField("bogus")),
    ArgsRejection(json: #"{"num_bits":8,"groupsize":128}"#, error: .unknownField("groupsize")),
  ]

  @Test(arguments: rejections)
  func rejectsWhatTheReferenceRejects(_ c: ArgsRejection) {
    #expect(throws: c.error) { try decodeArgs(c.json) }
  }

  // Enum strings the reference's enums do not know: QuantizationType("bfloat"),
  // QuantizationStrategy("rows"), DynamicType("yes"), ActivationOrdering("random"),
  // an unknown torch dtype, and a non-integral num_bits all raise ValidationError.
  static let badValues: [ArgsBadValue] = [
    ArgsBadValue(json: #"{"type":"bfloat"}"#, field: "type"),
    ArgsBadValue(json: #"{"strategy":"rows"}"#, field: "strategy"),
    ArgsBadValue(json: #"{"dynamic":"yes"}"#, field: "dynamic"),
    ArgsBadValue(json: #"{"dynamic":"true"}"#, field: "dynamic"),
    ArgsBadValue(json: #"{"actorder":"random","strategy":"group","group_size":8}"#, field: "actorder"),
    ArgsBadValue(json: #"{"scale_dtype":"torch.float7"}"#, field: "scale_dtype"),
    ArgsBadValue(json: #"{"zp_dtype":"int9"}"#, field: "zp_dtype"),
    ArgsBadValue(json: #"{"num_bits":8.5}"#, field: "num_bits"),
    // None where the field is not Optional: "Input should be a valid integer" and the like.
    ArgsBadValue(json: #"{"num_bits":null}"#, field: "num_bits"),
    ArgsBadValue(json: #"{"type":null}"#, field: "type"),
    ArgsBadValue(json: #"{"symmetric":null}"#, field: "symmetric"),
    ArgsBadValue(json: #"{"dynamic":null}"#, field: "dynamic"),
    ArgsBadValue(json: #"{"observer_kwargs":null}"#, field: "observer_kwargs"),
  ]

  /// None in an Optional field is its default (compressed-tensors 0.14: `group_size`,
  /// `strategy`, `block_structure`, `actorder`, `scale_dtype`, `zp_dtype`, `observer`).
  @Test(arguments: ["group_size", "strategy", "block_structure", "actorder", "scale_dtype", "zp_dtype", "observer"])
  func nullInAnOptionalFieldIsItsDefault(_ field: String) throws {
    #expect(try decodeArgs(#"{"\#(field)":null}"#) == decodeArgs("{}"))
  }

  @Test(arguments: badValues)
  func rejectsUnknownEnumStrings(_ c: ArgsBadValue) throws {
    do {
      _ = try decodeArgs(c.json)
      Issue.record("\(c.json) was accepted")
    } catch let QuantizationArgsError.invalidValue(field, _, _) {
      #expect(field == c.field)
    }
  }

  // Resolved JSON (`model_dump(mode="json")`) of arguments the reference accepts.
  static let resolutions: [ArgsResolution] = [
    ArgsResolution(
      json: "{}",
      resolved: #"{"num_bits": 8, "type": "int", "symmetric": true, "group_size": null, "strategy": "tensor", "block_structure": null, "dynamic": false, "actorder": null, "scale_dtype": null, "zp_dtype": null, "observer": "memoryless_minmax", "observer_kwargs": {}}"#
    ),
    ArgsResolution(
      json: #"{"symmetric":false}"#,
      resolved: #"{"num_bits": 8, "type": "int", "symmetric": false, "group_size": null, "strategy": "tensor", "block_structure": null, "dynamic": false, "actorder": null, "scale_dtype": null, "zp_dtype": "torch.int8", "observer": "memoryless_minmax", "observer_kwargs": {}}"#
    ),
    ArgsResolution(
      json: #"{"num_bits":4,"symmetric":false}"#,
      resolved: #"{"num_bits": 4, "type": "int", "symmetric": false, "group_size": null, "strategy": "tensor", "block_structure": null, "dynamic": false, "actorder": null, "scale_dtype": null, "zp_dtype": "torch.int8", "observer": "memoryless_minmax", "observer_kwargs": {}}"#
    ),
    ArgsResolution(
      json: #"{"symmetric":false,"zp_dtype":"torch.int16"}"#,
      resolved: #"{"num_bits": 8, "type": "int", "symmetric": false, "group_size": null, "strategy": "tensor", "block_structure": null, "dynamic": false, "actorder": null, "scale_dtype": null, "zp_dtype": "torch.int16", "observer": "memoryless_minmax", "observer_kwargs": {}}"#
    ),
    ArgsResolution(
      json: #"{"strategy":"block","block_structure":"2x4"}"#,
      resolved: #"{"num_bits": 8, "type": "int", "symmetric": true, "group_size": null, "strategy": "block", "block_structure": [2, 4], "dynamic": false, "actorder": null, "scale_dtype": null, "zp_dtype": null, "observer": "memoryless_minmax", "observer_kwargs": {}}"#
    ),
    ArgsResolution(
      json: #"{"group_size":0,"strategy":"tensor"}"#,
      resolved: #"{"num_bits": 8, "type": "int", "symmetric": true, "group_size": 0, "strategy": "tensor", "block_structure": null, "dynamic": false, "actorder": null, "scale_dtype": null, "zp_dtype": null, "observer": "memoryless_minmax", "observer_kwargs": {}}"#
    ),
    ArgsResolution(
      json: #"{"group_size":-1}"#,
      resolved: #"{"num_bits": 8, "type": "int", "symmetric": true, "group_size": -1, "strategy": "channel", "block_structure": null, "dynamic": false, "actorder": null, "scale_dtype": null, "zp_dtype": null, "observer": "memoryless_minmax", "observer_kwargs": {}}"#
    ),
    ArgsResolution(
      json: #"{"group_size":-1,"strategy":"channel"}"#,
      resolved: #"{"num_bits": 8, "type": "int", "symmetric": true, "group_size": -1, "strategy": "channel", "block_structure": null, "dynamic": false, "actorder": null, "scale_dtype": null, "zp_dtype": null, "observer": "memoryless_minmax", "observer_kwargs": {}}"#
    ),
    ArgsResolution(
      json: #"{"group_size":16,"strategy":"tensor_group"}"#,
      resolved: #"{"num_bits": 8, "type": "int", "symmetric": true, "group_size": 16, "strategy": "tensor_group", "block_structure": null, "dynamic": false, "actorder": null, "scale_dtype": null, "zp_dtype": null, "observer": "memoryless_minmax", "observer_kwargs": {}}"#
    ),
    ArgsResolution(
      json: #"{"strategy":"tensor_group","group_size":16,"dynamic":"LOCAL","type":"float","num_bits":4}"#,
      resolved: #"{"num_bits": 4, "type": "float", "symmetric": true, "group_size": 16, "strategy": "tensor_group", "block_structure": null, "dynamic": "local", "actorder": null, "scale_dtype": null, "zp_dtype": null, "observer": "minmax", "observer_kwargs": {}}"#
    ),
    ArgsResolution(
      json: #"{"strategy":"tensor_group","group_size":16,"dynamic":"Local","type":"float","num_bits":4,"observer":"mse"}"#,
      resolved: #"{"num_bits": 4, "type": "float", "symmetric": true, "group_size": 16, "strategy": "tensor_group", "block_structure": null, "dynamic": "local", "actorder": null, "scale_dtype": null, "zp_dtype": null, "observer": "mse", "observer_kwargs": {}}"#
    ),
    ArgsResolution(
      json: #"{"strategy":"group","group_size":8,"actorder":true}"#,
      resolved: #"{"num_bits": 8, "type": "int", "symmetric": true, "group_size": 8, "strategy": "group", "block_structure": null, "dynamic": false, "actorder": "group", "scale_dtype": null, "zp_dtype": null, "observer": "memoryless_minmax", "observer_kwargs": {}}"#
    ),
    ArgsResolution(
      json: #"{"strategy":"group","group_size":8,"actorder":false}"#,
      resolved: #"{"num_bits": 8, "type": "int", "symmetric": true, "group_size": 8, "strategy": "group", "block_structure": null, "dynamic": false, "actorder": null, "scale_dtype": null, "zp_dtype": null, "observer": "memoryless_minmax", "observer_kwargs": {}}"#
    ),
    ArgsResolution(
      json: #"{"strategy":"group","group_size":8,"actorder":"WEIGHT"}"#,
      resolved: #"{"num_bits": 8, "type": "int", "symmetric": true, "group_size": 8, "strategy": "group", "block_structure": null, "dynamic": false, "actorder": "weight", "scale_dtype": null, "zp_dtype": null, "observer": "memoryless_minmax", "observer_kwargs": {}}"#
    ),
    ArgsResolution(
      json: #"{"dynamic":true,"observer":"minmax","strategy":"token"}"#,
      resolved: #"{"num_bits": 8, "type": "int", "symmetric": true, "group_size": null, "strategy": "token", "block_structure": null, "dynamic": true, "actorder": null, "scale_dtype": null, "zp_dtype": null, "observer": null, "observer_kwargs": {}}"#
    ),
    ArgsResolution(
      json: #"{"type":"INT"}"#,
      resolved: #"{"num_bits": 8, "type": "int", "symmetric": true, "group_size": null, "strategy": "tensor", "block_structure": null, "dynamic": false, "actorder": null, "scale_dtype": null, "zp_dtype": null, "observer": "memoryless_minmax", "observer_kwargs": {}}"#
    ),
    ArgsResolution(
      json: #"{"type":"Float"}"#,
      resolved: #"{"num_bits": 8, "type": "float", "symmetric": true, "group_size": null, "strategy": "tensor", "block_structure": null, "dynamic": false, "actorder": null, "scale_dtype": null, "zp_dtype": null, "observer": "memoryless_minmax", "observer_kwargs": {}}"#
    ),
    ArgsResolution(
      json: #"{"strategy":"TENSOR"}"#,
      resolved: #"{"num_bits": 8, "type": "int", "symmetric": true, "group_size": null, "strategy": "tensor", "block_structure": null, "dynamic": false, "actorder": null, "scale_dtype": null, "zp_dtype": null, "observer": "memoryless_minmax", "observer_kwargs": {}}"#
    ),
    ArgsResolution(
      json: #"{"scale_dtype":"float8_e4m3fn"}"#,
      resolved: #"{"num_bits": 8, "type": "int", "symmetric": true, "group_size": null, "strategy": "tensor", "block_structure": null, "dynamic": false, "actorder": null, "scale_dtype": "torch.float8_e4m3fn", "zp_dtype": null, "observer": "memoryless_minmax", "observer_kwargs": {}}"#
    ),
    ArgsResolution(
      json: #"{"scale_dtype":"torch.uint8"}"#,
      resolved: #"{"num_bits": 8, "type": "int", "symmetric": true, "group_size": null, "strategy": "tensor", "block_structure": null, "dynamic": false, "actorder": null, "scale_dtype": "torch.uint8", "zp_dtype": null, "observer": "memoryless_minmax", "observer_kwargs": {}}"#
    ),
    ArgsResolution(
      json: #"{"observer_kwargs":{"maxshrink":0.5,"x":true}}"#,
      resolved: #"{"num_bits": 8, "type": "int", "symmetric": true, "group_size": null, "strategy": "tensor", "block_structure": null, "dynamic": false, "actorder": null, "scale_dtype": null, "zp_dtype": null, "observer": "memoryless_minmax", "observer_kwargs": {"maxshrink": 0.5, "x": true}}"#
    ),
    // The reference accepts any int num_bits (0, -3, ...); CalibCore deliberately rejects
    // widths outside 1…32 (ArgumentBoundsTests).
  ]

  @Test(arguments: resolutions)
  func resolvesAndEncodesLikeTheReference(_ c: ArgsResolution) throws {
    let args = try decodeArgs(c.json)
    let ours = try encodedValue(args)
    let theirs = try jsonValue(c.resolved)
    #expect(ours == theirs, "\(c.json): ours \(ours)")
  }

  @Test func encodedArgumentsDecodeToTheSameArguments() throws {
    for c in Self.resolutions {
      let args = try decodeArgs(c.json)
      let again = try JSONDecoder().decode(QuantizationArgs.self, from: JSONEncoder().encode(args))
      #expect(again == args, "\(c.json)")
    }
  }

  @Test func blockStructureStringForm() throws {
    // QuantizationArgs(strategy="block", block_structure="2x4").block_structure == [2, 4]
    let args = try decodeArgs(#"{"strategy":"block","block_structure":"2x4"}"#)
    #expect(args.blockStructure == [2, 4])
    #expect(args.strategy == .block)
  }

  @Test(arguments: [#""local""#, #""LOCAL""#, #""Local""#])
  func dynamicLocalIsCaseInsensitive(_ value: String) throws {
    // DynamicType(value.lower()) == DynamicType.LOCAL
    let args = try decodeArgs(
      #"{"type":"float","num_bits":4,"strategy":"tensor_group","group_size":16,"dynamic":"# + value + "}")
    #expect(args.dynamic == .local)
    #expect(args.dynamic.isDynamic)
  }

  @Test func dynamicBooleans() throws {
    #expect(try decodeArgs(#"{"strategy":"token","dynamic":true}"#).dynamic == .on)
    #expect(try decodeArgs(#"{"dynamic":false}"#).dynamic == .off)
    #expect(!DynamicMode.off.isDynamic)
  }

  @Test func actorderAliases() throws {
    // ct 0.14: True -> GROUP, False -> None, "dynamic" == GROUP, "static" == WEIGHT (Aliasable).
    let base = #"{"strategy":"group","group_size":8,"actorder":"#
    #expect(try decodeArgs(base + "true}").actorder == .group)
    #expect(try decodeArgs(base + "false}").actorder == nil)
    #expect(try decodeArgs(base + #""dynamic"}"#).actorder == .group)
    #expect(try decodeArgs(base + #""static"}"#).actorder == .weight)
    #expect(try decodeArgs(base + #""Group"}"#).actorder == .group)
    #expect(try decodeArgs(base + #""weight"}"#).actorder == .weight)
    #expect(ActivationOrdering(name: "DYNAMIC") == .group)
    #expect(ActivationOrdering(name: "random") == nil)
    // tensor_group also admits actorder.
    #expect(
      try decodeArgs(#"{"strategy":"tensor_group","group_size":16,"actorder":"weight"}"#).actorder
        == .weight)
  }

  @Test func observerDefaults() throws {
    // static -> "memoryless_minmax"; dynamic=True -> None (even when given);
    // dynamic="local" -> "minmax" unless given.
    #expect(try QuantizationArgs().observer == "memoryless_minmax")
    #expect(try QuantizationArgs(observer: "mse").observer == "mse")
    #expect(try QuantizationArgs(strategy: .token, dynamic: .on).observer == nil)
    #expect(try QuantizationArgs(strategy: .token, dynamic: .on, observer: "minmax").observer == nil)
    let local = try QuantizationArgs(
      numBits: 4, type: .float, groupSize: 16, strategy: .tensorGroup, dynamic: .local)
    #expect(local.observer == "minmax")
    let localMSE = try QuantizationArgs(
      numBits: 4, type: .float, groupSize: 16, strategy: .tensorGroup, dynamic: .local,
      observer: "static_minmax")
    #expect(localMSE.observer == "static_minmax")
  }

  struct ZPCase: Sendable, CustomTestStringConvertible {
    let type: QuantizationType
    let bits: Int
    let expected: TorchDType
    var testDescription: String { "\(type.rawValue)\(bits)" }
  }

  // [QuantizationArgs(num_bits=b).zp_dtype for b in (1, 4, 8, 9, 16, 17, 32)]
  //   -> int8 int8 int8 int16 int16 int32 int32
  // QuantizationArgs(type="float", num_bits=8 / 4).zp_dtype -> float8_e4m3fn both
  @Test(arguments: [
    ZPCase(type: .int, bits: 1, expected: .int8), ZPCase(type: .int, bits: 4, expected: .int8),
    ZPCase(type: .int, bits: 8, expected: .int8), ZPCase(type: .int, bits: 9, expected: .int16),
    ZPCase(type: .int, bits: 16, expected: .int16), ZPCase(type: .int, bits: 17, expected: .int32),
    ZPCase(type: .int, bits: 32, expected: .int32),
    ZPCase(type: .float, bits: 8, expected: .float8E4M3FN),
    ZPCase(type: .float, bits: 4, expected: .float8E4M3FN),
  ])
  func zeroPointDTypeInference(_ c: ZPCase) throws {
    #expect(try QuantizationArgs(numBits: c.bits, type: c.type).zpDType == c.expected)
    #expect(try QuantizationArgs(numBits: c.bits, type: c.type, symmetric: false).zpDType == c.expected)
  }

  @Test func explicitZeroPointDTypeWins() throws {
    #expect(try QuantizationArgs(numBits: 4, type: .float, zpDType: .uint8).zpDType == .uint8)
    #expect(try QuantizationArgs(symmetric: false, zpDType: .int16).zpDType == .int16)
  }

  @Test func zeroPointDTypeIsNullInJSONWhenSymmetric() throws {
    // QuantizationArgs(zp_dtype="torch.int16").model_dump()["zp_dtype"] is None;
    // with symmetric=False it is "torch.int16".
    let symmetric = try encodedValue(QuantizationArgs(zpDType: .int16)) as? NSDictionary
    #expect(symmetric?["zp_dtype"] is NSNull)
    let asymmetric = try encodedValue(QuantizationArgs(symmetric: false, zpDType: .int16)) as? NSDictionary
    #expect(asymmetric?["zp_dtype"] as? String == "torch.int16")
    // Every field is present, null or not.
    #expect(Set((symmetric?.allKeys as? [String]) ?? []) == Set(QuantizationArgs.fieldNames))
  }

  @Test func initializerValidatesLikeTheDecoder() throws {
    #expect(throws: QuantizationArgsError.staticTokenStrategy) { try QuantizationArgs(strategy: .token) }
    #expect(throws: QuantizationArgsError.invalidGroupSize(-5)) { try QuantizationArgs(groupSize: -5) }
    #expect(throws: QuantizationArgsError.invalidBlockStructure("[0, 4]")) {
      try QuantizationArgs(strategy: .block, blockStructure: [0, 4])
    }
    #expect(throws: QuantizationArgsError.unsupportedFloatBits(6)) {
      try QuantizationArgs(numBits: 6, type: .float)
    }
    // Inference: none -> tensor, > 0 -> group, -1 -> channel.
    #expect(try QuantizationArgs().strategy == .tensor)
    #expect(try QuantizationArgs(groupSize: 32).strategy == .group)
    #expect(try QuantizationArgs(groupSize: -1).strategy == .channel)
  }

  @Test func asymmetricFP4IsAcceptedUntilParametersAreComputed() throws {
    // QuantizationArgs(type="float", num_bits=4, symmetric=False) constructs; only
    // calculate_qparams raises NotImplementedError.
    let args = try QuantizationArgs(numBits: 4, type: .float, symmetric: false)
    #expect(args.isFP4)
    #expect(throws: QuantizationArgsError.asymmetricFP4) {
      try args.quantizationParameters(
        min: Tensor(shape: [1], values: [-1]), max: Tensor(shape: [1], values: [2]))
    }
  }

  @Test func mxScalesFollowTheReferencePredicate() throws {
    // should_generatre_mxfp4_scales: num_bits == 4 and type == "float" and group_size == 32
    #expect(try QuantizationArgs(numBits: 4, type: .float, groupSize: 32).usesMXScales)
    #expect(try QuantizationArgs(numBits: 4, type: .float, groupSize: 32, scaleDType: .float8E4M3FN).usesMXScales)
    #expect(try QuantizationArgs(numBits: 4, type: .float, groupSize: 32, strategy: .tensorGroup).usesMXScales)
    #expect(try !QuantizationArgs(numBits: 4, type: .float, groupSize: 16, scaleDType: .uint8).usesMXScales)
    #expect(try !QuantizationArgs(numBits: 8, type: .float, groupSize: 32, scaleDType: .uint8).usesMXScales)
    #expect(try !QuantizationArgs(numBits: 4, groupSize: 32, scaleDType: .uint8).usesMXScales)
  }

  @Test func torchDTypeNames() {
    #expect(TorchDType(name: "float8_e4m3fn") == .float8E4M3FN)
    #expect(TorchDType(name: "torch.float8_e4m3fn") == .float8E4M3FN)
    #expect(TorchDType(name: "torch.bfloat16") == .bfloat16)
    #expect(TorchDType(name: "uint8") == .uint8)
    #expect(TorchDType(name: "torch.float7") == nil)
    #expect(TorchDType.uint8.isFloatingPoint == false)
    #expect(TorchDType.bfloat16.isFloatingPoint)
  }

  @Test func errorMessagesNameTheFieldAndTheFix() {
    let message = QuantizationArgsError.groupSizeRequired(.group).description
    #expect(message.contains("group_size"))
    #expect(QuantizationArgsError.unknownField("bogus").description.contains("'bogus'"))
    #expect(QuantizationArgsError.staticTokenStrategy.description.contains("dynamic"))
  }

  // MARK: - Deliberate differences from ct 0.14.0
  // CalibCore matches the reference where its behaviour is a contract, and is stricter
  // where 0.14 silently accepts arguments that later fail or mean nothing.

  @Test func blockStructureWithCapitalXIsRejectedAsByTheReference() {
    // QuantizationArgs(strategy="block", block_structure="2X4") -> ValidationError
    // ([int(x) for x in "2X4".split("x")] fails).
    #expect(throws: (any Error).self) {
      try decodeArgs(#"{"strategy":"block","block_structure":"2X4"}"#)
    }
  }

  @Test(arguments: [#"[0,4]"#, #"[-1,4]"#, #""2x4x8""#])
  func blockStructuresMustBeTwoPositiveIntegers(_ value: String) {
    // ct 0.14 accepts [0, 4], [-1, 4] and "2x4x8" ([2, 4, 8]); later releases check length
    // and sign, as CalibCore does.
    #expect(throws: QuantizationArgsError.self) {
      try decodeArgs(#"{"strategy":"block","block_structure":"# + value + "}")
    }
  }

  @Test func floatWidthsOtherThanFourAndEightAreRejected() {
    // ct 0.14 accepts num_bits 6 with an explicit zp_dtype, then fails in calculate_range.
    #expect(throws: QuantizationArgsError.unsupportedFloatBits(6)) {
      try decodeArgs(#"{"type":"float","num_bits":6,"zp_dtype":"torch.float8_e4m3fn"}"#)
    }
  }

  @Test func actorderAliasesEncodeCanonically() throws {
    // The reference writes "dynamic"/"static" back as given; CalibCore stores the
    // canonical names (same meaning: group/weight).
    let dynamic = try encodedValue(
      decodeArgs(#"{"strategy":"group","group_size":8,"actorder":"dynamic"}"#)) as? NSDictionary
    let stat = try encodedValue(
      decodeArgs(#"{"strategy":"group","group_size":8,"actorder":"static"}"#)) as? NSDictionary
    #expect(dynamic?["actorder"] as? String == "group")
    #expect(stat?["actorder"] as? String == "weight")
  }

  @Test func nestedObserverKwargsAreRejected() {
    // The reference keeps {"a": {"b": 1}}; no observer reads a nested value.
    #expect(throws: QuantizationArgsError.self) { try decodeArgs(#"{"observer_kwargs":{"a":{"b":1}}}"#) }
  }

  @Test func stringsAreNotCoercedToNumbersOrBooleans() {
    // pydantic's lax mode accepts {"symmetric":"yes","num_bits":"8"}; a recipe with
    // quoted numbers is more likely a mistake, so CalibCore names the field instead.
    #expect(throws: QuantizationArgsError.self) { try decodeArgs(#"{"symmetric":"yes","num_bits":"8"}"#) }
  }
}

/// One scheme the reference rejects.
struct SchemeRejection: Sendable, CustomTestStringConvertible {
  let json: String
  let error: QuantizationArgsError
  var testDescription: String { json }
}

@Suite struct QuantizationSchemeTests {
  // QuantizationScheme(**kwargs) raises (NotImplementedError for channel/block input,
  // ValidationError otherwise) on ct 0.14.0.
  static let rejections: [SchemeRejection] = [
    SchemeRejection(
      json: #"{"targets":["Linear"],"input_activations":{"strategy":"channel"}}"#,
      error: .activationStrategyUnsupported(field: "input_activations", strategy: .channel)),
    SchemeRejection(
      json: #"{"targets":["Linear"],"input_activations":{"strategy":"block","block_structure":[2,2]}}"#,
      error: .activationStrategyUnsupported(field: "input_activations", strategy: .block)),
    SchemeRejection(
      json: #"{"targets":["Linear"],"input_activations":{"strategy":"group","group_size":8,"actorder":"weight"}}"#,
      error: .activationActorder(field: "input_activations")),
    SchemeRejection(
      json: #"{"targets":["Linear"],"output_activations":{"strategy":"group","group_size":8,"actorder":"weight"}}"#,
      error: .activationActorder(field: "output_activations")),
    SchemeRejection(
      json: #"{"targets":["Linear"],"weights":{"strategy":"channel"},"format":"mixed-precision"}"#,
      error: .mixedPrecisionFormat),
    SchemeRejection(
      json: #"{"targets":["Linear"],"weights":{"strategy":"channel"},"bogus":1}"#,
      error: .unknownField("bogus")),
    SchemeRejection(
      json: #"{"targets":["Linear"],"weights":{"strategy":"group"}}"#,
      error: .groupSizeRequired(.group)),
  ]

  @Test(arguments: rejections)
  func rejectsWhatTheReferenceRejects(_ c: SchemeRejection) {
    #expect(throws: c.error) { try decodeScheme(c.json) }
  }

  @Test func acceptsWhatTheReferenceAccepts() throws {
    // Both construct on ct 0.14: output strategies are not restricted, attn_head input is fine.
    let output = try decodeScheme(#"{"targets":["Linear"],"output_activations":{"strategy":"channel"}}"#)
    #expect(output.outputActivations?.strategy == .channel)
    let attention = try decodeScheme(#"{"targets":["re:.*self_attn$"],"input_activations":{"strategy":"attn_head"}}"#)
    #expect(attention.inputActivations?.strategy == .attentionHead)
    #expect(attention.targets == ["re:.*self_attn$"])
  }

  @Test func targetsAreRequiredByTheReference() {
    // QuantizationScheme(weights={"num_bits": 8}) -> ValidationError "targets Field required".
    #expect(throws: (any Error).self) { try decodeScheme(#"{"weights":{"num_bits":8}}"#) }
  }

  @Test func argumentsForEachBaseName() throws {
    let weights = try QuantizationArgs(numBits: 4, groupSize: 128)
    let inputs = try QuantizationArgs(strategy: .token, dynamic: .on)
    let outputs = try QuantizationArgs(numBits: 8, type: .float)
    let scheme = try QuantizationScheme(
      targets: ["Linear"], weights: weights, inputActivations: inputs, outputActivations: outputs)
    #expect(scheme.arguments(for: .weight) == weights)
    #expect(scheme.arguments(for: .output) == outputs)
    for base in [BaseName.input, .q, .k, .v] {
      #expect(scheme.arguments(for: base) == inputs)
    }
  }

  @Test func schemeJSONRoundTrips() throws {
    let scheme = try PresetSchemes.scheme(named: "NVFP4", targets: ["Linear"])
    let again = try JSONDecoder().decode(QuantizationScheme.self, from: JSONEncoder().encode(scheme))
    #expect(again == scheme)
  }
}

/// One preset and the reference's `model_dump(mode="json")` of its sections.
struct PresetCase: Sendable, CustomTestStringConvertible {
  let name: String
  let weights: String
  let inputs: String
  var testDescription: String { name }
}

@Suite struct PresetSchemeTests {
  // list(compressed_tensors.quantization.quant_scheme.PRESET_SCHEMES)
  static let referenceNames = [
    "UNQUANTIZED", "W8A16", "W4A16", "W4A16_ASYM", "W8A8", "INT8", "W4A8", "W4AFP8", "FP8",
    "FP8_DYNAMIC", "FP8_BLOCK", "NVFP4A16", "NVFP4", "MXFP4A16", "MXFP4",
  ]

  // for n in PRESET_SCHEMES: preset_name_to_scheme(n, ["Linear"]).model_dump(mode="json")
  // (weights / input_activations; output_activations is null for every preset)
  static let int8Channel =
    #"{"num_bits": 8, "type": "int", "symmetric": true, "group_size": null, "strategy": "channel", "block_structure": null, "dynamic": false, "actorder": null, "scale_dtype": null, "zp_dtype": null, "observer": "memoryless_minmax", "observer_kwargs": {}}"#
  static let int4Group =
    #"{"num_bits": 4, "type": "int", "symmetric": true, "group_size": 128, "strategy": "group", "block_structure": null, "dynamic": false, "actorder": null, "scale_dtype": null, "zp_dtype": null, "observer": "memoryless_minmax", "observer_kwargs": {}}"#
  static let int8Token =
    #"{"num_bits": 8, "type": "int", "symmetric": true, "group_size": null, "strategy": "token", "block_structure": null, "dynamic": true, "actorder": null, "scale_dtype": null, "zp_dtype": null, "observer": null, "observer_kwargs": {}}"#
  static let fp8Token =
    #"{"num_bits": 8, "type": "float", "symmetric": true, "group_size": null, "strategy": "token", "block_structure": null, "dynamic": true, "actorder": null, "scale_dtype": null, "zp_dtype": null, "observer": null, "observer_kwargs": {}}"#
  static let fp8Tensor =
    #"{"num_bits": 8, "type": "float", "symmetric": true, "group_size": null, "strategy": "tensor", "block_structure": null, "dynamic": false, "actorder": null, "scale_dtype": null, "zp_dtype": null, "observer": "memoryless_minmax", "observer_kwargs": {}}"#
  static let nvfp4Weights =
    #"{"num_bits": 4, "type": "float", "symmetric": true, "group_size": 16, "strategy": "tensor_group", "block_structure": null, "dynamic": false, "actorder": null, "scale_dtype": "torch.float8_e4m3fn", "zp_dtype": null, "observer": "memoryless_minmax", "observer_kwargs": {}}"#
  static let mxfp4Weights =
    #"{"num_bits": 4, "type": "float", "symmetric": true, "group_size": 32, "strategy": "group", "block_structure": null, "dynamic": false, "actorder": null, "scale_dtype": "torch.uint8", "zp_dtype": null, "observer": "memoryless_minmax", "observer_kwargs": {}}"#

  static let cases: [PresetCase] = [
    PresetCase(name: "UNQUANTIZED", weights: "null", inputs: "null"),
    PresetCase(name: "W8A16", weights: int8Channel, inputs: "null"),
    PresetCase(name: "W4A16", weights: int4Group, inputs: "null"),
    PresetCase(
      name: "W4A16_ASYM",
      weights: #"{"num_bits": 4, "type": "int", "symmetric": false, "group_size": 128, "strategy": "group", "block_structure": null, "dynamic": false, "actorder": null, "scale_dtype": null, "zp_dtype": "torch.int8", "observer": "memoryless_minmax", "observer_kwargs": {}}"#,
      inputs: "null"),
    PresetCase(name: "W8A8", weights: int8Channel, inputs: int8Token),
    PresetCase(name: "INT8", weights: int8Channel, inputs: int8Token),
    PresetCase(name: "W4A8", weights: int4Group, inputs: int8Token),
    PresetCase(name: "W4AFP8", weights: int4Group, inputs: fp8Token),
    PresetCase(name: "FP8", weights: fp8Tensor, inputs: fp8Tensor),
    PresetCase(
      name: "FP8_DYNAMIC",
      weights: #"{"num_bits": 8, "type": "float", "symmetric": true, "group_size": null, "strategy": "channel", "block_structure": null, "dynamic": false, "actorder": null, "scale_dtype": null, "zp_dtype": null, "observer": "memoryless_minmax", "observer_kwargs": {}}"#,
      inputs: fp8Token),
    PresetCase(
      name: "FP8_BLOCK",
      weights: #"{"num_bits": 8, "type": "float", "symmetric": true, "group_size": null, "strategy": "block", "block_structure": [128, 128], "dynamic": false, "actorder": null, "scale_dtype": null, "zp_dtype": null, "observer": "memoryless_minmax", "observer_kwargs": {}}"#,
      inputs: #"{"num_bits": 8, "type": "float", "symmetric": true, "group_size": 128, "strategy": "group", "block_structure": null, "dynamic": true, "actorder": null, "scale_dtype": null, "zp_dtype": null, "observer": null, "observer_kwargs": {}}"#
    ),
    PresetCase(name: "NVFP4A16", weights: nvfp4Weights, inputs: "null"),
    PresetCase(
      name: "NVFP4", weights: nvfp4Weights,
      inputs: #"{"num_bits": 4, "type": "float", "symmetric": true, "group_size": 16, "strategy": "tensor_group", "block_structure": null, "dynamic": "local", "actorder": null, "scale_dtype": "torch.float8_e4m3fn", "zp_dtype": null, "observer": "static_minmax", "observer_kwargs": {}}"#
    ),
    PresetCase(name: "MXFP4A16", weights: mxfp4Weights, inputs: "null"),
    PresetCase(
      name: "MXFP4", weights: mxfp4Weights,
      inputs: #"{"num_bits": 4, "type": "float", "symmetric": true, "group_size": 32, "strategy": "group", "block_structure": null, "dynamic": true, "actorder": null, "scale_dtype": "torch.uint8", "zp_dtype": null, "observer": null, "observer_kwargs": {}}"#
    ),
  ]

  @Test func namesMatchTheReference() {
    #expect(PresetSchemes.names == Self.referenceNames)
    #expect(Self.cases.map(\.name) == Self.referenceNames)
  }

  @Test(arguments: cases)
  func presetMatchesTheReference(_ c: PresetCase) throws {
    let scheme = try PresetSchemes.scheme(named: c.name, targets: ["Linear"])
    #expect(scheme.targets == ["Linear"])
    #expect(scheme.outputActivations == nil)
    #expect(scheme.format == nil)
    #expect(try encodedValue(scheme.weights) == jsonValue(c.weights), "weights of \(c.name)")
    #expect(try encodedValue(scheme.inputActivations) == jsonValue(c.inputs), "inputs of \(c.name)")
  }

  @Test func presetNamesAreCaseInsensitive() throws {
    // preset_name_to_scheme upper-cases the name.
    let lower = try PresetSchemes.scheme(named: "nvfp4")
    #expect(try lower == PresetSchemes.scheme(named: "NVFP4"))
    #expect(lower.inputActivations?.dynamic == .local)
    #expect(try PresetSchemes.scheme(named: "w4a16_asym").weights?.symmetric == false)
  }

  @Test func zeroPointDTypesOfPresets() throws {
    // preset_name_to_scheme(n, []).weights.zp_dtype: MXFP4* -> uint8, NVFP4* -> float8_e4m3fn,
    // W4A16 -> int8, FP8 -> float8_e4m3fn
    #expect(try PresetSchemes.scheme(named: "MXFP4").weights?.zpDType == .uint8)
    #expect(try PresetSchemes.scheme(named: "MXFP4").inputActivations?.zpDType == .uint8)
    #expect(try PresetSchemes.scheme(named: "NVFP4A16").weights?.zpDType == .float8E4M3FN)
    #expect(try PresetSchemes.scheme(named: "W4A16").weights?.zpDType == .int8)
    #expect(try PresetSchemes.scheme(named: "FP8").inputActivations?.zpDType == .float8E4M3FN)
  }

  @Test func unknownPresetListsTheNames() {
    // preset_name_to_scheme("nope", ...) -> KeyError "Unknown preset scheme name NOPE,
    // available names: [...]"
    do {
      _ = try PresetSchemes.scheme(named: "nope")
      Issue.record("unknown preset accepted")
    } catch let error as QuantizationArgsError {
      #expect(error == .unknownPreset("NOPE"))
      for name in Self.referenceNames {
        #expect(error.description.contains(name), "message lacks \(name)")
      }
    } catch {
      Issue.record("unexpected error \(error)")
    }
  }
}
