@testable import CalibCore
import Testing

/// The MSE search's vector FP4 quantize-dequantize (``FP4QDQ``) gives the scalar
/// quantizer's |QDQ(x) − x| bit for bit: every rounding threshold and tie of the E2M1 grid,
/// both signs, values beyond the ±6 clamp and several effective scales.
@Suite struct FP4LanesTests {
  @Test func differencesMatchTheScalarQuantizer() throws {
    let args = try decodeArgs(#"{"num_bits":4,"type":"float","symmetric":true,"strategy":"tensor_group","group_size":16}"#)
    let lanes = try #require(FP4QDQ(args, valueDType: .float32))
    let scalar = ScalarQDQ(args, valueDType: .float32, scaleDType: .float32)
    // Levels on and around every threshold (in units of the scale), and far out.
    let thresholds: [Float] = [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 5, 6, 7, 1e6]
    var levels: [Float] = []
    for t in thresholds { levels += [t, t.nextUp, t.nextDown, -t, -t.nextUp, -t.nextDown] }
    levels += (0..<200).map { Float($0) * 0.0371 - 3.7 }
    for scale: Float in [1, 0.0137, 3.1e-5, 417.25] {
      let x = levels.map { $0 * scale }
      for start in stride(from: 0, to: x.count - 7, by: 8) {
        let v = Lanes((0..<8).map { x[start + $0] })
        let s = Lanes(repeating: scale)
        let a = MSEGridSearch.difference(v, s, Lanes(), scale, 0, lanes, Float32Lanes.self)
        let b = MSEGridSearch.difference(v, s, Lanes(), scale, 0, scalar, Float32Lanes.self)
        #expect(a.bits == b.bits, "scale \(scale), x \(v)")
      }
    }
  }

  @Test func onlySymmetricFloat32FP4() throws {
    let fp4 = try decodeArgs(#"{"num_bits":4,"type":"float","symmetric":true,"strategy":"tensor_group","group_size":16}"#)
    let int4 = try decodeArgs(#"{"num_bits":4,"type":"int","symmetric":true,"strategy":"group","group_size":16}"#)
    #expect(FP4QDQ(fp4, valueDType: .bfloat16) == nil)
    #expect(FP4QDQ(int4, valueDType: .float32) == nil)
  }
}
