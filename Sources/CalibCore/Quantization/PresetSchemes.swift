/// The preset schemes of compressed-tensors 0.14 by name (`scheme: NVFP4` in a recipe).
///
/// ```
/// name              weights                           input activations
/// W8A16             int8 channel                      -
/// W4A16             int4 group 128                    -
/// W4A16_ASYM        int4 group 128 asymmetric         -
/// W8A8, INT8        int8 channel                      int8 token dynamic
/// W4A8              int4 group 128                    int8 token dynamic
/// W4AFP8            int4 group 128                    fp8 token dynamic
/// FP8               fp8 tensor                        fp8 tensor static
/// FP8_DYNAMIC       fp8 channel                       fp8 token dynamic
/// FP8_BLOCK         fp8 block [128, 128]              fp8 group 128 dynamic
/// NVFP4A16          fp4 tensor_group 16, fp8 scales   -
/// NVFP4             fp4 tensor_group 16, fp8 scales   same, dynamic local, static_minmax
/// MXFP4A16          fp4 group 32, uint8 scales        -
/// MXFP4             fp4 group 32, uint8 scales        same, dynamic
/// UNQUANTIZED       -                                 -
/// ```
public enum PresetSchemes {
  /// Every preset name, in the reference's order.
  public static let names = [
    "UNQUANTIZED", "W8A16", "W4A16", "W4A16_ASYM", "W8A8", "INT8", "W4A8", "W4AFP8", "FP8",
    "FP8_DYNAMIC", "FP8_BLOCK", "NVFP4A16", "NVFP4", "MXFP4A16", "MXFP4",
  ]

  /// The preset named `name` (case-insensitive) applied to `targets`.
  ///
  /// - Throws: ``QuantizationArgsError/unknownPreset(_:)`` listing the valid names.
  public static func scheme(named name: String, targets: [String] = []) throws
    -> QuantizationScheme
  {
    let (weights, inputs) = try arguments(named: name.uppercased())
    return try QuantizationScheme(targets: targets, weights: weights, inputActivations: inputs)
  }

  private static func arguments(named name: String) throws
    -> (QuantizationArgs?, QuantizationArgs?)
  {
    let int8Channel = try QuantizationArgs(numBits: 8, strategy: .channel)
    let int4Group = try QuantizationArgs(numBits: 4, groupSize: 128, strategy: .group)
    let int8Token = try QuantizationArgs(numBits: 8, strategy: .token, dynamic: .on)
    let fp8Token = try QuantizationArgs(numBits: 8, type: .float, strategy: .token, dynamic: .on)
    let nvfp4 = try QuantizationArgs(
      numBits: 4, type: .float, groupSize: 16, strategy: .tensorGroup,
      scaleDType: .float8E4M3FN, zpDType: .float8E4M3FN)
    let mxfp4 = try QuantizationArgs(
      numBits: 4, type: .float, groupSize: 32, strategy: .group, scaleDType: .uint8,
      zpDType: .uint8)
    switch name {
    case "UNQUANTIZED": return (nil, nil)
    case "W8A16": return (int8Channel, nil)
    case "W4A16": return (int4Group, nil)
    case "W4A16_ASYM":
      return (try QuantizationArgs(numBits: 4, symmetric: false, groupSize: 128, strategy: .group), nil)
    case "W8A8", "INT8": return (int8Channel, int8Token)
    case "W4A8": return (int4Group, int8Token)
    case "W4AFP8": return (int4Group, fp8Token)
    case "FP8":
      let fp8Tensor = try QuantizationArgs(numBits: 8, type: .float, strategy: .tensor)
      return (fp8Tensor, fp8Tensor)
    case "FP8_DYNAMIC":
      return (try QuantizationArgs(numBits: 8, type: .float, strategy: .channel), fp8Token)
    case "FP8_BLOCK":
      return (
        try QuantizationArgs(numBits: 8, type: .float, strategy: .block, blockStructure: [128, 128]),
        try QuantizationArgs(numBits: 8, type: .float, groupSize: 128, strategy: .group, dynamic: .on)
      )
    case "NVFP4A16": return (nvfp4, nil)
    case "NVFP4":
      var input = nvfp4
      input.dynamic = .local
      input.observer = "static_minmax"
      return (nvfp4, input)
    case "MXFP4A16": return (mxfp4, nil)
    case "MXFP4":
      var input = mxfp4
      input.dynamic = .on
      input.observer = nil
      return (mxfp4, input)
    default: throw QuantizationArgsError.unknownPreset(name)
    }
  }
}
