import CalibFormats
import Foundation
import Testing

@Suite("ElementType")
struct ElementTypeTests {
  @Test("raw values are the safetensors dtype names and widths match")
  func namesAndWidths() throws {
    let expected: [(String, Int)] = [
      ("F32", 4), ("F16", 2), ("BF16", 2), ("F64", 8), ("I8", 1), ("U8", 1), ("I32", 4),
      ("I64", 8), ("F8_E4M3", 1), ("BOOL", 1),
    ]
    #expect(ElementType.allCases.map(\.rawValue) == expected.map(\.0))
    for (name, width) in expected {
      let type = try #require(ElementType(rawValue: name))
      #expect(type.byteWidth == width)
    }
    let json = try JSONEncoder().encode([ElementType.f8E4M3, .bf16])
    #expect(String(decoding: json, as: UTF8.self) == #"["F8_E4M3","BF16"]"#)
    #expect(try JSONDecoder().decode([ElementType].self, from: json) == [.f8E4M3, .bf16])
  }

  @Test("each dtype decodes known little-endian bytes")
  func decodeKnownBytes() {
    #expect(ElementType.f32.decode([0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x20, 0xC1]) == [1, -10])
    #expect(ElementType.f16.decode([0x00, 0x3C, 0x01, 0x00, 0xFF, 0x7B]) == [1, 0x1p-24, 65504])
    #expect(ElementType.bf16.decode([0x80, 0x3F, 0x80, 0xFF]) == [1, -.infinity])
    let tenth = Array(withUnsafeBytes(of: (0.1 as Double).bitPattern.littleEndian, Array.init))
    #expect(ElementType.f64.decode(tenth + [0, 0, 0, 0, 0, 0, 0xF0, 0xBF]) == [0.1, -1])
    #expect(ElementType.i8.decode([0x80, 0xFF, 0x7F]) == [-128, -1, 127])
    #expect(ElementType.u8.decode([0x00, 0xFF]) == [0, 255])
    let int32s: [UInt8] = [0x01, 0x00, 0x00, 0x01, 0xFE, 0xFF, 0xFF, 0xFF]
    #expect(ElementType.i32.decode(int32s) == [16_777_216, -2])  // 2²⁴ + 1 rounds to even
    #expect(
      ElementType.i64.decode([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]) == [-1])
    #expect(ElementType.f8E4M3.decode([0x38, 0x7E, 0xB0]) == [1, 448, -0.5])
    #expect(ElementType.f8E4M3.decode([0x7F])[0].isNaN)
    #expect(ElementType.bool.decode([0, 1, 2]) == [0, 1, 1])
  }

  @Test("decoding reads unaligned buffers and ignores a trailing partial element")
  func decodeUnaligned() {
    let bytes: [UInt8] = [0xAA, 0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0x40, 0x99]
    bytes.withUnsafeBytes { raw in
      let shifted = UnsafeRawBufferPointer(rebasing: raw[1...])
      #expect(ElementType.f32.decode(shifted) == [1, 2])
      #expect(ElementType.bf16.decode(UnsafeRawBufferPointer(rebasing: raw[3..<7])) == [1, 0])
      #expect(ElementType.f16.decode(UnsafeRawBufferPointer(rebasing: raw[1..<4])) == [0])
    }
    #expect(ElementType.f64.decode([UInt8]()) == [])
  }

  @Test("every dtype round-trips values it represents exactly")
  func encodeDecodeRoundTrip() {
    let samples: [ElementType: [Float]] = [
      .f32: [0, -0.1, 3.4e38, .infinity, .leastNonzeroMagnitude],
      .f16: [0, 1, -2, 65504, 0x1p-24, -.infinity],
      .bf16: [0, 1, -2, 0x1p-133, Float(bitPattern: 0x7F7F_0000)],
      .f64: [0.1, -1e-30, 16_777_216],
      .i8: [-128, -1, 0, 127], .u8: [0, 1, 255], .i32: [-2_147_483_648, -1, 0, 16_777_216],
      .i64: [-9.223372e18, -1, 0, 1e18], .f8E4M3: [0, -448, 0.015625, 1.125],
      .bool: [0, 1],
    ]
    for type in ElementType.allCases {
      let values = samples[type] ?? []
      let bytes = type.encode(values)
      #expect(bytes.count == values.count * type.byteWidth, "\(type)")
      #expect(type.decode(bytes) == values, "\(type)")
    }
  }

  @Test("encoding rounds and saturates integers, narrows floats, and maps NaN")
  func encodeEdgeCases() {
    #expect(
      ElementType.i8.decode(ElementType.i8.encode([300, -300, 2.5, 3.5, .nan])) == [
        127, -128, 2, 4, 0,
      ])
    #expect(
      ElementType.u8.decode(ElementType.u8.encode([-1, 256, 0.5, .infinity])) == [
        0, 255, 0, 255,
      ])
    #expect(ElementType.i32.encode([3e9]) == [0xFF, 0xFF, 0xFF, 0x7F])
    #expect(ElementType.i64.encode([-1e30]) == [0, 0, 0, 0, 0, 0, 0, 0x80])
    #expect(ElementType.bool.encode([0, -0.0, 0.5, .nan]) == [0, 0, 1, 1])
    #expect(ElementType.f16.encode([1 + 0x1p-11]) == [0x00, 0x3C])
    #expect(ElementType.bf16.encode([1 + 0x1p-8]) == [0x80, 0x3F])
    #expect(ElementType.f8E4M3.encode([1000]) == [0x7E])
    #expect(ElementType.f32.decode(ElementType.f32.encode([.nan]))[0].isNaN)
  }
}

@Suite("bf16 decode")
struct BFloat16DecodeTests {
  /// Lengths around the 16-element vector step, every bit pattern class included.
  @Test func vectorAndTailAgreeWithTheDefinition() {
    var rng = SystemRandomNumberGenerator()
    for count in [0, 1, 15, 16, 17, 31, 32, 33, 100] {
      let bits = (0..<count).map { _ in UInt16.random(in: 0...UInt16.max, using: &rng) }
      let bytes = bits.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
      let decoded = bytes.withUnsafeBytes { ElementType.bf16.decode($0) }
      #expect(decoded.map(\.bitPattern) == bits.map { UInt32($0) << 16 })
    }
  }
}
