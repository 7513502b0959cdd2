import CalibCore
import Foundation
import Testing

// calculate_qparams / generate_gparam against compressed-tensors 0.14.0. Every golden value
// was produced in the reference venv with
//   from compressed_tensors.quantization import QuantizationArgs
//   from compressed_tensors.quantization.utils import calculate_qparams, generate_gparam
//   s, z = calculate_qparams(torch.tensor(mins), torch.tensor(maxs), QuantizationArgs(**args),
//                            None if g is None else torch.tensor([g]))
//   [h(v) for v in s.flatten().tolist()], z.float().flatten().tolist()
// with `args` the case's JSON and h() the float32 bit pattern (see CoreTestSupport.swift).

/// One `calculate_qparams` call and its answer.
struct QParamCase: Sendable, CustomTestStringConvertible {
  let name: String
  let args: String
  let min: [Float]
  let max: [Float]
  var globalScale: Float? = nil
  let scale: [UInt32]
  let zeroPoint: [Float]
  var testDescription: String { name }
}

private let nan = Float.nan
private let inf = Float.infinity

@Suite struct QParamTests {
  static let int8 = "{}"
  static let int8Asym = #"{"symmetric":false}"#
  static let int4 = #"{"num_bits":4}"#
  static let int4Asym = #"{"num_bits":4,"symmetric":false}"#
  static let fp8 = #"{"type":"float"}"#
  static let fp4 = #"{"type":"float","num_bits":4}"#
  static let nvfp4 =
    #"{"type":"float","num_bits":4,"group_size":16,"strategy":"tensor_group","scale_dtype":"torch.float8_e4m3fn"}"#
  static let mxfp4 = #"{"type":"float","num_bits":4,"group_size":32,"scale_dtype":"torch.uint8"}"#

  // QUANT_SEMANTICS §8.2 calculate_qparams table (computed on ct 0.19); re-run on ct 0.14.0
  // with identical results, plus the asymmetric FP8 zero point of §3.2.
  static let table82: [QParamCase] = [
    QParamCase(name: "int8 sym -1..2", args: int8, min: [-1], max: [2], scale: [0x3c80_8081], zeroPoint: [0]),
    QParamCase(name: "int8 asym -1..2", args: int8Asym, min: [-1], max: [2], scale: [0x3c40_c0c1], zeroPoint: [-43]),
    QParamCase(
      name: "int8 asym -0.3..0.7", args: int8Asym, min: [-0.3], max: [0.7], scale: [0x3b80_8081],
      zeroPoint: [-52]),
    QParamCase(name: "int4 asym -1..2", args: int4Asym, min: [-1], max: [2], scale: [0x3e4c_cccd], zeroPoint: [-3]),
    QParamCase(name: "int4 sym -1..2", args: int4, min: [-1], max: [2], scale: [0x3e88_8889], zeroPoint: [0]),
    QParamCase(
      name: "int4 asym -0.3..0.7", args: int4Asym, min: [-0.3], max: [0.7], scale: [0x3d88_8889],
      zeroPoint: [-4]),
    QParamCase(name: "int4 sym -0.3..0.7", args: int4, min: [-0.3], max: [0.7], scale: [0x3dbf_258c], zeroPoint: [0]),
    QParamCase(name: "fp8 -1..2", args: fp8, min: [-1], max: [2], scale: [0x3b92_4925], zeroPoint: [0]),
    QParamCase(name: "fp8 -448..100", args: fp8, min: [-448], max: [100], scale: [0x3f80_0000], zeroPoint: [0]),
    QParamCase(name: "fp4 -1..2", args: fp4, min: [-1], max: [2], scale: [0x3eaa_aaab], zeroPoint: [0]),
    // zp = -128 - (-1 / s) = -149.33, clamped to [-448, 448], cast to e4m3: -144.
    QParamCase(
      name: "fp8 asym -1..2", args: #"{"type":"float","symmetric":false}"#, min: [-1], max: [2],
      scale: [0x3b5b_6db7], zeroPoint: [-144]),
  ]

  // All-zero ranges: s == 0 is replaced by eps(scale_dtype or float32); the asymmetric zero
  // point is -128 - 0/0 = NaN, which the int8 cast turns into 0 on x86.
  static let zeros: [QParamCase] = [
    QParamCase(name: "int8 sym", args: int8, min: [0], max: [0], scale: [0x3400_0000], zeroPoint: [0]),
    QParamCase(name: "int8 asym", args: int8Asym, min: [0], max: [0], scale: [0x3400_0000], zeroPoint: [0]),
    QParamCase(name: "fp8", args: fp8, min: [0], max: [0], scale: [0x3400_0000], zeroPoint: [0]),
    QParamCase(name: "fp4", args: fp4, min: [0], max: [0], scale: [0x3400_0000], zeroPoint: [0]),
    QParamCase(name: "nvfp4 (fp8 eps)", args: nvfp4, min: [0], max: [0], scale: [0x3e00_0000], zeroPoint: [0]),
    QParamCase(
      name: "nvfp4 with g=1", args: nvfp4, min: [0], max: [0], globalScale: 1, scale: [0x3e00_0000],
      zeroPoint: [0]),
    QParamCase(name: "mxfp4 2^-127", args: mxfp4, min: [0], max: [0], scale: [0x0040_0000], zeroPoint: [0]),
  ]

  // Constant tensors and ranges that exclude 0 (min > 0, max < 0): the range is widened to
  // include 0 first.
  static let constants: [QParamCase] = [
    QParamCase(name: "sym c=1", args: int8, min: [1], max: [1], scale: [0x3c00_8081], zeroPoint: [0]),
    QParamCase(name: "sym c=-1", args: int8, min: [-1], max: [-1], scale: [0x3c00_8081], zeroPoint: [0]),
    QParamCase(name: "sym 0.5..2", args: int8, min: [0.5], max: [2], scale: [0x3c80_8081], zeroPoint: [0]),
    QParamCase(name: "sym -3..-0.25", args: int8, min: [-3], max: [-0.25], scale: [0x3cc0_c0c1], zeroPoint: [0]),
    QParamCase(name: "sym single 3.7", args: int8, min: [3.7], max: [3.7], scale: [0x3ced_ba88], zeroPoint: [0]),
    QParamCase(name: "asym c=1", args: int8Asym, min: [1], max: [1], scale: [0x3b80_8081], zeroPoint: [-128]),
    QParamCase(name: "asym c=-1", args: int8Asym, min: [-1], max: [-1], scale: [0x3b80_8081], zeroPoint: [127]),
    QParamCase(name: "asym 0.5..2", args: int8Asym, min: [0.5], max: [2], scale: [0x3c00_8081], zeroPoint: [-128]),
    QParamCase(
      name: "asym -3..-0.25", args: int8Asym, min: [-3], max: [-0.25], scale: [0x3c40_c0c1], zeroPoint: [127]),
    QParamCase(
      name: "asym single 3.7", args: int8Asym, min: [3.7], max: [3.7], scale: [0x3c6d_ba88], zeroPoint: [-128]),
  ]

  // Subnormal ranges (inputs as bits: 1e-40 = 0x000116c2, 1e-45 = 0x00000001,
  // 1e-38 = 0x006ce3ee, 3e-39 = 0x0020aac8) and signed zeros.
  static let tiny: [QParamCase] = [
    QParamCase(
      name: "int8 sym subnormal", args: int8, min: [-f32(0x0001_16c2), 0, -f32(1)],
      max: [f32(0x0001_16c2), f32(1), 0], scale: [0x0000_0230, 0x3400_0000, 0x3400_0000],
      zeroPoint: [0, 0, 0]),
    QParamCase(
      name: "int8 asym subnormal", args: int8Asym, min: [-f32(0x0001_16c2), 0, -f32(1)],
      max: [f32(0x0001_16c2), f32(1), 0], scale: [0x0000_0230, 0x3400_0000, 0x3400_0000],
      zeroPoint: [-1, 0, 127]),
    QParamCase(
      name: "fp8 subnormal", args: fp8, min: [-f32(0x0001_16c2), 0, -f32(1)],
      max: [f32(0x0001_16c2), f32(1), 0], scale: [0x0000_009f, 0x3400_0000, 0x3400_0000],
      zeroPoint: [0, 0, 0]),
    QParamCase(
      name: "int8 sym near FLT_MIN", args: int8, min: [-f32(0x006c_e3ee)], max: [f32(0x0020_aac8)],
      scale: [0x0000_daa2], zeroPoint: [0]),
    QParamCase(
      name: "int8 asym near FLT_MIN", args: int8Asym, min: [-f32(0x006c_e3ee)], max: [f32(0x0020_aac8)],
      scale: [0x0000_8e1d], zeroPoint: [68]),
    QParamCase(
      name: "fp8 near FLT_MIN", args: fp8, min: [-f32(0x006c_e3ee)], max: [f32(0x0020_aac8)],
      scale: [0x0000_3e39], zeroPoint: [0]),
    QParamCase(
      name: "int8 sym signed zeros", args: int8, min: [-0.0, 0.0, -0.0], max: [-0.0, -0.0, 0.0],
      scale: [0x3400_0000, 0x3400_0000, 0x3400_0000], zeroPoint: [0, 0, 0]),
    QParamCase(
      name: "int8 asym signed zeros", args: int8Asym, min: [-0.0, 0.0, -0.0], max: [-0.0, -0.0, 0.0],
      scale: [0x3400_0000, 0x3400_0000, 0x3400_0000], zeroPoint: [0, 0, 0]),
  ]

  // NaN and ±inf ranges: NaN propagates through min/max; an infinite range gives an
  // infinite scale; the zero point's NaN becomes 0 in int8; MX gives +inf (E8M0 255).
  static let nonFinite: [QParamCase] = {
    let mins: [Float] = [nan, -1, -inf, -1, -inf, nan]
    let maxs: [Float] = [1, nan, 1, inf, inf, nan]
    let scales: [UInt32] = [0x7fc0_0000, 0x7fc0_0000, 0x7f80_0000, 0x7f80_0000, 0x7f80_0000, 0x7fc0_0000]
    return [
      QParamCase(name: "int8 sym", args: int8, min: mins, max: maxs, scale: scales, zeroPoint: [0, 0, 0, 0, 0, 0]),
      QParamCase(
        name: "int8 asym", args: int8Asym, min: mins, max: maxs, scale: scales, zeroPoint: [0, 0, 0, -128, 0, 0]),
      QParamCase(name: "fp8", args: fp8, min: mins, max: maxs, scale: scales, zeroPoint: [0, 0, 0, 0, 0, 0]),
      QParamCase(
        name: "mxfp4", args: mxfp4, min: mins, max: maxs, scale: Array(repeating: 0x7f80_0000, count: 6),
        zeroPoint: [0, 0, 0, 0, 0, 0]),
    ]
  }()

  // scale_dtype rounding: fp8 clamps to ±448 then rounds to nearest even (0.0146484375 is a
  // tie and goes to 0.015625); a scale rounded to 0 becomes the fp8 eps 0.125; bf16/f16 use
  // their own eps (2^-7, 2^-10) and f16 clamps to 65504.
  static let scaleDTypes: [QParamCase] = [
    QParamCase(
      name: "int8 fp8 scales", args: #"{"scale_dtype":"torch.float8_e4m3fn"}"#,
      min: [-1e6, -1e-4, -1, -1.86767578125, 0], max: [1e6, 1e-4, 2, 0, 0],
      scale: [0x43e0_0000, 0x3e00_0000, 0x3c80_0000, 0x3c80_0000, 0x3e00_0000], zeroPoint: [0, 0, 0, 0, 0]),
    QParamCase(
      name: "int8 asym fp8 scales", args: #"{"scale_dtype":"torch.float8_e4m3fn","symmetric":false}"#,
      min: [-1e6, -1e-4, -1], max: [1e6, 1e-4, 2], scale: [0x43e0_0000, 0x3e00_0000, 0x3c40_0000],
      zeroPoint: [0, 0, -43]),
    QParamCase(
      name: "int8 bf16 scales", args: #"{"scale_dtype":"torch.bfloat16"}"#, min: [-1, -0.0], max: [2, 0],
      scale: [0x3c81_0000, 0x3c00_0000], zeroPoint: [0, 0]),
    QParamCase(
      name: "int8 f16 scales", args: #"{"scale_dtype":"torch.float16"}"#, min: [-1, -1e9, 0], max: [2, 1e9, 0],
      scale: [0x3c80_8000, 0x477f_e000, 0x3a80_0000], zeroPoint: [0, 0, 0]),
    // NVFP4 §3.5 example: group amax [0, 1e-3, 0.37, 2.5, 3.0] with g = 896.
    QParamCase(
      name: "nvfp4 g=896", args: nvfp4, min: [0, -1e-3, 0, -2.5, 0], max: [0, 0, 0.37, 1, 3], globalScale: 896,
      scale: [0x3e00_0000, 0x3e20_0000, 0x4260_0000, 0x43c0_0000, 0x43e0_0000], zeroPoint: [0, 0, 0, 0, 0]),
    QParamCase(
      name: "nvfp4 saturates at 448", args: nvfp4, min: [-1e6], max: [1e6], globalScale: 896,
      scale: [0x43e0_0000], zeroPoint: [0]),
    // The global scale multiplies every kind of scale, not just FP4's.
    QParamCase(
      name: "int8 sym g=3", args: int8, min: [-1], max: [2], globalScale: 3, scale: [0x3d40_c0c2], zeroPoint: [0]),
    QParamCase(
      name: "int8 asym g=3", args: int8Asym, min: [-1], max: [2], globalScale: 3, scale: [0x3d10_9091],
      zeroPoint: [-43]),
  ]

  // MX (E8M0) scales, §3.6 table: amax [0, 1.0, 1.74, 1.75, 5.687891, 6.0, 7.29, 448,
  // 1e-40, 1e38, 3e38] given once as -min and once as max.
  static let mxAmax: [Float] = [
    0, 1.0, f32(0x3fde_b852), 1.75, f32(0x40b6_0334), 6.0, f32(0x40e9_47ae), 448, f32(0x0001_16c2),
    f32(0x7e96_7699), f32(0x7f61_b1e6),
  ]
  static let mxScales: [UInt32] = [
    0x0040_0000, 0x3e80_0000, 0x3e80_0000, 0x3f00_0000, 0x3f80_0000, 0x3f80_0000, 0x4000_0000, 0x4300_0000,
    0x0040_0000, 0x7d80_0000, 0x7f80_0000,
  ]
  static let mx: [QParamCase] = [
    QParamCase(
      name: "mxfp4 amax as -min", args: mxfp4, min: mxAmax.map { -$0 }, max: Array(repeating: 0, count: 11),
      scale: mxScales, zeroPoint: Array(repeating: 0, count: 11)),
    QParamCase(
      name: "mxfp4 amax as max", args: mxfp4, min: Array(repeating: 0, count: 11), max: mxAmax,
      scale: mxScales, zeroPoint: Array(repeating: 0, count: 11)),
    // 0.14 triggers MX on fp4 + group_size 32 regardless of scale_dtype and strategy.
    QParamCase(
      name: "fp4 g32 without scale_dtype", args: #"{"type":"float","num_bits":4,"group_size":32}"#,
      min: [-1.0, -1.74, -1.75, -7.29, -448, -1e38], max: [0, 0, 0, 0, 0, 0],
      scale: [0x3e80_0000, 0x3e80_0000, 0x3f00_0000, 0x4000_0000, 0x4300_0000, 0x7d80_0000],
      zeroPoint: [0, 0, 0, 0, 0, 0]),
    QParamCase(
      name: "fp4 g32 tensor_group", args: #"{"type":"float","num_bits":4,"group_size":32,"strategy":"tensor_group"}"#,
      min: [-1.0], max: [0], scale: [0x3e80_0000], zeroPoint: [0]),
    // exponent 125 rounded on the fp8 grid is 128 -> 2^1; exponent -inf clamps to -448 -> 0 -> eps 0.125.
    QParamCase(
      name: "fp4 g32 fp8 scale_dtype",
      args: #"{"type":"float","num_bits":4,"group_size":32,"scale_dtype":"torch.float8_e4m3fn"}"#,
      min: [-1.0, 0], max: [0, 0], scale: [0x4000_0000, 0x3e00_0000], zeroPoint: [0, 0]),
    // Not MX in 0.14 (fp8, or group 16): scales are rounded to integers in [0, 255] and 0
    // becomes the integer eps 1.
    QParamCase(
      name: "fp8 g32 uint8 scales", args: #"{"type":"float","num_bits":8,"group_size":32,"scale_dtype":"torch.uint8"}"#,
      min: [-1.0, -2.9, 0, -3000], max: [0, 0, 0, 0], scale: [0x3f80_0000, 0x3f80_0000, 0x3f80_0000, 0x40e0_0000],
      zeroPoint: [0, 0, 0, 0]),
    QParamCase(
      name: "fp4 g16 uint8 scales", args: #"{"type":"float","num_bits":4,"group_size":16,"scale_dtype":"torch.uint8"}"#,
      min: [-17.4, 0, -18000], max: [0, 0, 0], scale: [0x4040_0000, 0x3f80_0000, 0x437f_0000],
      zeroPoint: [0, 0, 0]),
  ]

  // num_bits outside the usual range (not validated by the reference).
  static let widths: [QParamCase] = [
    // int0 (an infinite scale in the reference) is rejected by CalibCore: see ArgumentBoundsTests.
    QParamCase(name: "int1", args: #"{"num_bits":1}"#, min: [-1], max: [2], scale: [0x4080_0000], zeroPoint: [0]),
    QParamCase(
      name: "int1 asym", args: #"{"num_bits":1,"symmetric":false}"#, min: [-1], max: [2], scale: [0x4040_0000],
      zeroPoint: [-1]),
    QParamCase(
      name: "int2 asym", args: #"{"num_bits":2,"symmetric":false}"#, min: [-1], max: [2], scale: [0x3f80_0000],
      zeroPoint: [-1]),
    QParamCase(
      name: "int16 asym", args: #"{"num_bits":16,"symmetric":false}"#, min: [-1], max: [2], scale: [0x3840_00c0],
      zeroPoint: [-10923]),
    QParamCase(
      name: "int32 asym", args: #"{"num_bits":32,"symmetric":false}"#, min: [-1], max: [2], scale: [0x3040_0000],
      zeroPoint: [-715_827_840]),
  ]

  static func check(_ c: QParamCase) throws {
    let args = try decodeArgs(c.args)
    let p = try args.quantizationParameters(
      min: Tensor(shape: [c.min.count], values: c.min), max: Tensor(shape: [c.max.count], values: c.max),
      globalScale: c.globalScale)
    let expected = f32s(c.scale)
    #expect(p.scale.shape == [c.min.count])
    #expect(p.zeroPoint.shape == [c.min.count])
    #expect(sameFloats(p.scale.values, expected), "scale \(hexList(p.scale.values)) != \(hexList(expected))")
    // Zero points are compared bit-exactly too (an integer zero point is never -0.0).
    #expect(sameFloats(p.zeroPoint.values, c.zeroPoint), "zp \(p.zeroPoint.values) != \(c.zeroPoint)")
    #expect(p.zeroPointDType == args.zpDType)
  }

  @Test(arguments: table82) func calculateQParamsTable(_ c: QParamCase) throws { try Self.check(c) }
  @Test(arguments: zeros) func allZeroRanges(_ c: QParamCase) throws { try Self.check(c) }
  @Test(arguments: constants) func constantRanges(_ c: QParamCase) throws { try Self.check(c) }
  @Test(arguments: tiny) func subnormalAndSignedZeroRanges(_ c: QParamCase) throws { try Self.check(c) }
  @Test(arguments: nonFinite) func nanAndInfinityRanges(_ c: QParamCase) throws { try Self.check(c) }
  @Test(arguments: scaleDTypes) func scaleDTypeRoundingAndGlobalScales(_ c: QParamCase) throws { try Self.check(c) }
  @Test(arguments: mx) func mxScales(_ c: QParamCase) throws { try Self.check(c) }
  @Test(arguments: widths) func unusualBitWidths(_ c: QParamCase) throws { try Self.check(c) }

  @Test func zeroDimensionalRangesGiveShapeOne() throws {
    // calculate_qparams(torch.tensor(-2.0), torch.tensor(3.0), QuantizationArgs())
    //   -> shape [1], 0x3cc0c0c1, zp [0]; symmetric=False -> 0x3ca0a0a1, zp [-26]
    let sym = try QuantizationArgs().quantizationParameters(
      min: Tensor(shape: [], values: [-2]), max: Tensor(shape: [], values: [3]))
    #expect(sym.scale.shape == [1])
    #expect(sym.zeroPoint.shape == [1])
    #expect(sym.scale.values[0].bitPattern == 0x3cc0_c0c1)
    let asym = try QuantizationArgs(symmetric: false).quantizationParameters(
      min: Tensor(shape: [], values: [-2]), max: Tensor(shape: [], values: [3]))
    #expect(asym.scale.values[0].bitPattern == 0x3ca0_a0a1)
    #expect(asym.zeroPoint.values == [-26])
  }

  @Test func parameterShapeFollowsTheRangeShape() throws {
    let p = try QuantizationArgs(numBits: 4, symmetric: false, groupSize: 2).quantizationParameters(
      min: Tensor(shape: [2, 2], values: [-1, -0.3, 0, -2]), max: Tensor(shape: [2, 2], values: [2, 0.7, 1, 0]))
    #expect(p.scale.shape == [2, 2])
    #expect(p.zeroPoint.shape == [2, 2])
    #expect(p.zeroPoint.values == [-3, -4, -8, 7])
  }

  @Test func asymmetricFP4Throws() throws {
    // calculate_qparams(..., QuantizationArgs(type="float", num_bits=4, symmetric=False))
    //   -> NotImplementedError("Asymmetric Quantization is not supported for FP4")
    let args = try QuantizationArgs(numBits: 4, type: .float, symmetric: false)
    #expect(throws: QuantizationArgsError.asymmetricFP4) {
      try args.quantizationParameters(min: Tensor(shape: [1], values: [-1]), max: Tensor(shape: [1], values: [2]))
    }
  }

  @Test func quantizedRanges() throws {
    // calculate_range: int b -> [-2^b/2, 2^b/2 - 1]; fp8 -> ±448; fp4 -> ±6
    let int8 = QuantizedRange(try QuantizationArgs())
    #expect(int8.lowerBound == -128 && int8.upperBound == 127 && int8.width == 255)
    let int4 = QuantizedRange(try QuantizationArgs(numBits: 4))
    #expect(int4.lowerBound == -8 && int4.upperBound == 7 && int4.width == 15)
    let fp8 = QuantizedRange(try QuantizationArgs(type: .float))
    #expect(fp8.lowerBound == -448 && fp8.upperBound == 448 && fp8.width == 896)
    let fp4 = QuantizedRange(try QuantizationArgs(numBits: 4, type: .float))
    #expect(fp4.lowerBound == -6 && fp4.upperBound == 6 && fp4.width == 12)
    // torch.tensor(2**32 / 2 - 1) is float32 2147483648.
    let int32 = QuantizedRange(try QuantizationArgs(numBits: 32))
    #expect(int32.upperBound.bitPattern == Float(2_147_483_648).bitPattern)
  }

  @Test func epsilons() {
    // _get_dtype_eps: fp8 0.125, float32 2^-23, bf16 2^-7, f16 2^-10, integers 1
    #expect(TorchDType.float8E4M3FN.epsilon == 0.125)
    #expect(TorchDType.float32.epsilon.bitPattern == 0x3400_0000)
    #expect(TorchDType.bfloat16.epsilon == 0x1p-7)
    #expect(TorchDType.float16.epsilon == 0x1p-10)
    #expect(TorchDType.uint8.epsilon == 1)
    #expect(TorchDType.int8.epsilon == 1)
  }

  @Test func dtypeRounding() {
    // round_to_quantized_type_dtype(torch.tensor([x]), dtype, cast_to_original_dtype=False):
    // int8: 2.5 -> 2, -2.5 -> -2, 300 -> 127, -0.4 -> 0, NaN -> 0 (x86); uint8: -3 -> 0, 255.6 -> 255
    #expect(TorchDType.int8.rounded(2.5) == 2)
    #expect(TorchDType.int8.rounded(-2.5) == -2)
    #expect(TorchDType.int8.rounded(300) == 127)
    #expect(TorchDType.int8.rounded(-0.4).bitPattern == 0)
    #expect(TorchDType.int8.rounded(.nan) == 0)
    #expect(TorchDType.uint8.rounded(-3) == 0)
    #expect(TorchDType.uint8.rounded(255.6) == 255)
    #expect(TorchDType.float8E4M3FN.rounded(1e6) == 448)
    #expect(TorchDType.float8E4M3FN.rounded(-.infinity) == -448)
    #expect(TorchDType.float8E4M3FN.rounded(.nan).isNaN)
    #expect(TorchDType.float16.rounded(1e9) == 65504)
    #expect(TorchDType.bfloat16.rounded(.infinity).bitPattern == 0x7f7f_0000)
    #expect(TorchDType.float32.rounded(0.1).bitPattern == Float(0.1).bitPattern)
  }

  // MARK: - generate_gparam (0.14: no tiny clamp, no nan_to_num)

  struct GlobalCase: Sendable, CustomTestStringConvertible {
    let min: Float
    let max: Float
    let bits: UInt32
    var testDescription: String { "\(min)..\(max)" }
  }

  // generate_gparam(torch.tensor([mn]), torch.tensor([mx])) on ct 0.14.0
  static let globals: [GlobalCase] = [
    GlobalCase(min: 0, max: 0, bits: 0x7f80_0000),  // +inf: no guard in 0.14
    GlobalCase(min: -1, max: 2, bits: 0x44a8_0000),  // 1344
    GlobalCase(min: -3, max: 1, bits: 0x4460_0000),  // 896
    GlobalCase(min: 0.5, max: 1, bits: 0x4528_0000),  // 2688: min clamped to 0
    GlobalCase(min: -2, max: -1, bits: 0x44a8_0000),  // max clamped to 0
    GlobalCase(min: -inf, max: 1, bits: 0x0000_0000),
    GlobalCase(min: -1, max: inf, bits: 0x0000_0000),
    GlobalCase(min: nan, max: 1, bits: 0x7fc0_0000),
    GlobalCase(min: -f32(0x0001_16c2), max: 0, bits: 0x7f80_0000),  // 2688/1e-40 overflows
    GlobalCase(min: -f32(0x006c_e3ee), max: 0, bits: 0x7f80_0000),
    GlobalCase(min: -1.82099998, max: 1.74199998, bits: 0x44b8_8395),  // §8.2 W: 1476.11194
    // 2688 / amax is evaluated as amax.reciprocal() * 2688; these amax values round
    // differently from the correctly rounded quotient (direct would be ...5b, ...06, ...7b, ...c9).
    GlobalCase(min: -f32(0x3ed6_b1d5), max: 0, bits: 0x45c8_525c),
    GlobalCase(min: -f32(0x3e33_5052), max: 0, bits: 0x466f_d907),
    GlobalCase(min: -f32(0x4112_0e0b), max: 0, bits: 0x4393_3b7c),
    GlobalCase(min: -f32(0x410a_216a), max: 0, bits: 0x439b_adc8),
  ]

  @Test(arguments: globals)
  func globalScale(_ c: GlobalCase) {
    let g = GlobalScale.generate(min: c.min, max: c.max)
    #expect(sameFloat(g, f32(c.bits)), "\(hexBits(g)) != \(hexBits(f32(c.bits)))")
  }

  @Test func infiniteGlobalScaleFromAllZerosGivesNaNScales() throws {
    // g = generate_gparam(0, 0) = inf on 0.14; calculate_qparams(0, 0, nvfp4, g) then has
    // s = inf * 0 = NaN, which the fp8 cast keeps: NaN.
    let args = try decodeArgs(Self.nvfp4)
    let g = GlobalScale.generate(min: 0, max: 0)
    #expect(g == .infinity)
    let p = try args.quantizationParameters(
      min: Tensor(shape: [1], values: [0]), max: Tensor(shape: [1], values: [0]), globalScale: g)
    #expect(p.scale.values[0].isNaN)
  }

  @Test func mxExponentsAndDecoding() {
    // round_to_power_2 + 127 + floor(log2(.)) - 2, then 2^(e - 127)
    #expect(MXScale.exponent(ofAbsoluteMaximum: 1.0) == 125)
    #expect(MXScale.exponent(ofAbsoluteMaximum: 1.75) == 126)
    #expect(MXScale.exponent(ofAbsoluteMaximum: 0) == -.infinity)
    #expect(MXScale.exponent(ofAbsoluteMaximum: .nan) == .infinity)
    #expect(MXScale.decode(exponent: 0).bitPattern == 0x0040_0000)
    #expect(MXScale.decode(exponent: 127) == 1)
    #expect(MXScale.decode(exponent: 255) == .infinity)
  }

  // MARK: - Places where CalibCore and ct 0.14.0 disagree

  @Test func mxWithoutScaleDTypeOnZeroAmax() throws {
    // calculate_qparams(torch.tensor([-0.0, -1e-40]), torch.tensor([0., 0.]),
    //     QuantizationArgs(type="float", num_bits=4, group_size=32))  -> [inf, inf]
    // (exponent -inf, no uint8 clamp; int32(-inf) = INT32_MIN, INT32_MIN - 127 wraps to
    // 2147483521 in int32, 2.0 ** 2147483521 = inf).
    let args = try decodeArgs(#"{"type":"float","num_bits":4,"group_size":32}"#)
    let p = try args.quantizationParameters(
      min: Tensor(shape: [2], values: [-0.0, -f32(0x0001_16c2)]), max: Tensor(shape: [2], values: [0, 0]))
    #expect(sameFloats(p.scale.values, [inf, inf]), "ours \(hexList(p.scale.values))")
  }
}
