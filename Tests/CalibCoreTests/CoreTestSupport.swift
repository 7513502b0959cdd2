@testable import CalibCore
import Foundation
import Testing

// Shared helpers for the CalibCore unit tests.
//
// Golden values come from the reference venv at /root/.calib-reference
// (compressed-tensors 0.14.0, llm-compressor 0.10.0, torch CPU). Floats are written as
// their IEEE-754 float32 bit patterns, printed in Python with
//   h = lambda x: "0x%08x" % struct.unpack("<I", struct.pack("<f", float(x)))[0]

/// The float32 whose bit pattern is `bits`.
func f32(_ bits: UInt32) -> Float { Float(bitPattern: bits) }

/// The float32 values of a list of bit patterns.
func f32s(_ bits: [UInt32]) -> [Float] { bits.map { Float(bitPattern: $0) } }

/// Bit-identical, or both NaN (torch and Swift use different NaN payloads).
func sameFloat(_ a: Float, _ b: Float) -> Bool {
  a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN)
}

/// Element-wise ``sameFloat(_:_:)`` with equal counts.
func sameFloats(_ a: [Float], _ b: [Float]) -> Bool {
  a.count == b.count && zip(a, b).allSatisfy { sameFloat($0, $1) }
}

/// `0x3f800000, ...` for failure messages.
func hexList(_ xs: [Float]) -> String {
  xs.map { hexBits($0) }.joined(separator: ", ")
}

/// The bit pattern of one float as `0x%08x`.
func hexBits(_ x: Float) -> String {
  let s = String(x.bitPattern, radix: 16)
  return "0x" + String(repeating: "0", count: max(0, 8 - s.count)) + s
}

/// Decodes compressed-tensors style JSON into arguments.
func decodeArgs(_ json: String) throws -> QuantizationArgs {
  try JSONDecoder().decode(QuantizationArgs.self, from: Data(json.utf8))
}

/// Decodes compressed-tensors style JSON into a scheme.
func decodeScheme(_ json: String) throws -> QuantizationScheme {
  try JSONDecoder().decode(QuantizationScheme.self, from: Data(json.utf8))
}

/// A JSON value parsed into Foundation objects, for order-insensitive comparison.
func jsonValue(_ json: String) throws -> NSObject {
  let object = try JSONSerialization.jsonObject(
    with: Data(json.utf8), options: [.fragmentsAllowed])
  return try #require(object as? NSObject)
}

/// An encodable value re-parsed into Foundation objects.
func encodedValue<T: Encodable>(_ value: T) throws -> NSObject {
  let data = try JSONEncoder().encode(value)
  let object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
  return try #require(object as? NSObject)
}

/// A tensor of `shape` whose values are the given float32 bit patterns.
func bitsTensor(_ shape: [Int], _ bits: [UInt32]) -> Tensor {
  Tensor(shape: shape, values: f32s(bits))
}

/// `count` per-parameter minima and maxima written by `body` through a ``RangeOutput``
/// (every slot NaN until then), with what `body` returns: whether its reduction was clean.
func filledRanges(count: Int, _ body: (RangeOutput) -> Bool) -> ([Float], [Float], Bool) {
  var mins = [Float](repeating: .nan, count: count)
  var maxs = [Float](repeating: .nan, count: count)
  let clean = mins.withUnsafeMutableBufferPointer { lo in
    maxs.withUnsafeMutableBufferPointer { hi in
      body(RangeOutput(mins: SharedPointer(lo.baseAddress!), maxs: SharedPointer(hi.baseAddress!)))
    }
  }
  return (mins, maxs, clean)
}

/// Expects `p` to be `expected` bit for bit: scales and zero points, their shapes and
/// dtypes, and the dtypes they are stored in.
func expectSameParameters(
  _ p: QuantizationParameters, _ expected: QuantizationParameters, _ comment: Comment? = nil,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  #expect(p.scale.values.map(\.bitPattern) == expected.scale.values.map(\.bitPattern), comment, sourceLocation: sourceLocation)
  #expect(p.zeroPoint.values.map(\.bitPattern) == expected.zeroPoint.values.map(\.bitPattern), comment, sourceLocation: sourceLocation)
  #expect(p.scale.shape == expected.scale.shape && p.scale.dtype == expected.scale.dtype, comment, sourceLocation: sourceLocation)
  #expect(p.scaleDType == expected.scaleDType && p.zeroPointDType == expected.zeroPointDType, comment, sourceLocation: sourceLocation)
}

extension LanePower {
  /// `finish(middle(begin(d)))`: one vector's power, the three stages back to back.
  func raised(_ d: Lanes) -> Lanes { finish(middle(begin(d))) }
}
