/// Why a set of quantization arguments or a scheme was rejected; each message names the
/// field and the fix.
public enum QuantizationArgsError: Error, Equatable, CustomStringConvertible {
  case invalidGroupSize(Int)
  case staticTokenStrategy
  case groupSizeRequired(QuantizationStrategy)
  case groupSizeRequiresGroupStrategy(strategy: QuantizationStrategy, groupSize: Int)
  case blockStructureRequired
  case blockStructureRequiresBlockStrategy
  case invalidBlockStructure(String)
  case actorderRequiresGroupStrategy(QuantizationStrategy)
  case dynamicStrategyUnsupported(QuantizationStrategy)
  case localRequiresTensorGroup(QuantizationStrategy)
  case unsupportedFloatBits(Int)
  case unsupportedIntBits(Int)
  case asymmetricFP4
  case unknownField(String)
  case invalidValue(field: String, value: String, expected: String)
  case activationStrategyUnsupported(field: String, strategy: QuantizationStrategy)
  case activationActorder(field: String)
  case mixedPrecisionFormat
  case unknownPreset(String)

  public var description: String {
    switch self {
    case .invalidGroupSize(let g):
      "group_size \(g) is invalid: use a positive group_size (at most 2147483647) for strategy 'group' or -1 for 'channel'"
    case .staticTokenStrategy:
      "strategy 'token' cannot be static: set dynamic: true or choose strategy 'tensor'"
    case .groupSizeRequired(let s):
      "strategy '\(s.rawValue)' needs a positive group_size: set group_size (e.g. 128)"
    case .groupSizeRequiresGroupStrategy(let s, let g):
      "group_size \(g) needs strategy 'group' or 'tensor_group', not '\(s.rawValue)': change strategy or remove group_size"
    case .blockStructureRequired:
      "strategy 'block' needs block_structure: set block_structure: [rows, cols] (e.g. [128, 128])"
    case .blockStructureRequiresBlockStrategy:
      "block_structure needs strategy 'block': set strategy: block or remove block_structure"
    case .invalidBlockStructure(let v):
      "block_structure \(v) is invalid: give two positive integers (at most 2147483647) [rows, cols] or \"RxC\""
    case .actorderRequiresGroupStrategy(let s):
      "actorder needs strategy 'group' or 'tensor_group', not '\(s.rawValue)': remove actorder or change strategy"
    case .dynamicStrategyUnsupported(let s):
      "strategy '\(s.rawValue)' cannot be dynamic: use tensor, token, group or tensor_group, or set dynamic: false"
    case .localRequiresTensorGroup(let s):
      "dynamic: local needs strategy 'tensor_group', not '\(s.rawValue)': change strategy or set dynamic to true/false"
    case .unsupportedFloatBits(let b):
      "type 'float' supports num_bits 4 or 8, not \(b): change num_bits or use type 'int'"
    case .unsupportedIntBits(let b):
      "type 'int' supports num_bits 1 to 32, not \(b): change num_bits (e.g. 4 or 8)"
    case .asymmetricFP4:
      "asymmetric FP4 is not supported: set symmetric: true for type 'float' with num_bits 4"
    case .unknownField(let f):
      "unknown field '\(f)' in quantization args: remove it (valid: num_bits, type, symmetric, group_size, strategy, block_structure, dynamic, actorder, scale_dtype, zp_dtype, observer, observer_kwargs)"
    case .invalidValue(let field, let value, let expected):
      "\(field) \(value) is invalid: expected \(expected)"
    case .activationStrategyUnsupported(let field, let s):
      "\(field) cannot use strategy '\(s.rawValue)': use token, tensor, group, tensor_group or attn_head"
    case .activationActorder(let field):
      "\(field) cannot set actorder: remove it (actorder applies to weights only)"
    case .mixedPrecisionFormat:
      "format 'mixed-precision' cannot be set on a scheme: remove format or name a single format"
    case .unknownPreset(let name):
      "unknown preset scheme '\(name)': use one of \(PresetSchemes.names.joined(separator: ", "))"
    }
  }
}
