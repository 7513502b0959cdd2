import CalibCore
import CalibFormats
import Foundation
import Testing

@Suite("NpyFile")
struct NpyFileTests {
  /// The bytes of a `.npy` file with the given version, header dict text and data, padded as
  /// numpy pads (to a multiple of 64 bytes, ending in a newline) unless `pad` is false.
  private func npy(
    major: UInt8 = 1, header: String, data: [UInt8], pad: Bool = true,
    declaredLength: Int? = nil
  ) -> [UInt8] {
    let prefixLength = major == 1 ? 10 : 12
    var text = Array(header.utf8)
    if pad {
      let total = prefixLength + text.count + 1
      text += [UInt8](repeating: 0x20, count: (64 - total % 64) % 64) + [0x0A]
    }
    let length = declaredLength ?? text.count
    let lengthBytes = (0..<(prefixLength - 8)).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) }
    return [0x93] + Array("NUMPY".utf8) + [major, 0] + lengthBytes + text + data
  }

  /// Writes `bytes` as `name` in a fresh directory and returns the tensor read from it.
  private func read(_ bytes: [UInt8], name: String = "array.npy") throws -> Tensor {
    try TestSupport.withTemporaryDirectory { directory in
      let path = try TestSupport.write(bytes, to: name, in: directory)
      return try NpyFile(path: path).tensor()
    }
  }

  /// Checks that opening `bytes` as a `.npy` file throws `expected` (built from the path).
  private func expectOpen(
    _ bytes: [UInt8], mentioning fragments: [String] = [],
    sourceLocation: SourceLocation = #_sourceLocation,
    _ expected: (String) -> FormatError
  ) throws {
    try TestSupport.withTemporaryDirectory { directory in
      let path = try TestSupport.write(bytes, to: "hostile.npy", in: directory)
      TestSupport.expectError(
        expected(path), mentioning: ["hostile.npy"] + fragments, sourceLocation: sourceLocation
      ) {
        _ = try NpyFile(path: path)
      }
    }
  }

  @Test("hand-built files of each supported descr, in both byte orders")
  func craftedFiles() throws {
    let f4 = npy(
      header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }",
      data: ElementType.f32.encode([1, -2, 0.5, 3]))
    #expect(try read(f4) == Tensor(shape: [2, 2], values: [1, -2, 0.5, 3]))

    let bigEndian = npy(
      header: "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }",
      data: [0x3F, 0x80, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00])
    #expect(try read(bigEndian) == Tensor(shape: [2], values: [1, -2]))

    let bigHalf = npy(
      header: "{'descr': '>f2', 'fortran_order': False, 'shape': (1,), }", data: [0x3C, 0x00])
    #expect(try read(bigHalf).values == [1])

    let bigInt64 = npy(
      header: "{'descr': '>i8', 'fortran_order': False, 'shape': (1,), }",
      data: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE])
    #expect(try read(bigInt64).values == [-2])

    let scalar = npy(
      header: "{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
      data: ElementType.f64.encode([2.5]))
    #expect(try read(scalar) == Tensor(shape: [], values: [2.5]))

    let reordered = npy(
      header: #"{"shape": (3,), "fortran_order": False, "descr": "|u1"}"#, data: [0, 7, 255],
      pad: false)
    #expect(try read(reordered).values == [0, 7, 255])

    let bools = npy(
      header: "{'descr': '|b1', 'fortran_order': False, 'shape': (1, 3), }", data: [1, 0, 1])
    #expect(try read(bools) == Tensor(shape: [1, 3], values: [1, 0, 1]))

    let python2 = npy(
      header: "{'descr': '<i4', 'fortran_order': False, 'shape': (2L,), }",
      data: ElementType.i32.encode([-1, 5]))
    #expect(try read(python2).values == [-1, 5])

    let int8 = npy(
      header: "{'descr': '|i1', 'fortran_order': False, 'shape': (0, 5), }", data: [])
    #expect(try read(int8) == Tensor(shape: [0, 5], values: []))

    let version2 = npy(
      major: 2, header: "{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }",
      data: [0x00, 0x3C, 0x01, 0x00])
    #expect(try read(version2).values == [1, 0x1p-24])
  }

  @Test("files written by numpy itself")
  func numpyFixtures() throws {
    #expect(
      try read(NumpyFixtures.f4By2x3)
        == Tensor(shape: [2, 3], values: [-1, -0.5, 0, 0.5, 1, 1.5]))
    #expect(
      try read(NumpyFixtures.f4BigEndian)
        == Tensor(shape: [4], values: [1.5, -2.25, 3e-5, .infinity]))
    let halves = try read(NumpyFixtures.f2)
    #expect(halves.values == [0, 1, -2, 65504, 0x1p-24, -.infinity])
    #expect(try read(NumpyFixtures.f8Scalar) == Tensor(shape: [], values: [0.1]))
    #expect(try read(NumpyFixtures.i8).values == [-3, 0, 7, 0x1p40])
    #expect(try read(NumpyFixtures.i1).values == [-128, -1, 0, 127])
    #expect(try read(NumpyFixtures.u1Empty) == Tensor(shape: [0, 4], values: []))
    #expect(try read(NumpyFixtures.b1) == Tensor(shape: [2, 2], values: [1, 0, 0, 1]))
    let int32 = try read(NumpyFixtures.i4Version2)
    #expect(int32 == Tensor(shape: [3, 2], values: [1, -2, 3, -4, 5, 0x1p31]))
    #expect(try read(NumpyFixtures.f4Version3) == Tensor(shape: [2], values: [0.25, -0.75]))

    try TestSupport.withTemporaryDirectory { directory in
      let path = try TestSupport.write(NumpyFixtures.i4Version2, to: "v2.npy", in: directory)
      let file = try NpyFile(path: path)
      #expect(file.majorVersion == 2 && file.minorVersion == 0)
      #expect(file.descr == "<i4" && file.elementType == .i32 && !file.isBigEndian)
      #expect(file.dataOffset % 64 == 0 && file.dataByteCount == 24)
      let bigPath = try TestSupport.write(NumpyFixtures.f4BigEndian, to: "be.npy", in: directory)
      #expect(try NpyFile(path: bigPath).isBigEndian)
    }
  }

  @Test("bad magic, unsupported versions and header lengths past the file or limit")
  func badPreamble() throws {
    let good = npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", data: [])
    var wrongMagic = good
    wrongMagic[1] = UInt8(ascii: "n")
    try expectOpen(wrongMagic) { .npyBadMagic(path: $0) }
    try expectOpen([0x93, 0x4E]) { .npyBadMagic(path: $0) }
    try expectOpen(Array("PK\u{3}\u{4} zip archive".utf8)) { .npyBadMagic(path: $0) }
    var version4 = good
    version4[6] = 4
    try expectOpen(version4, mentioning: ["4.0"]) {
      .npyUnsupportedVersion(path: $0, major: 4, minor: 0)
    }
    try expectOpen(Array(good[0..<9])) { .npyTruncated(path: $0, expected: 10, actual: 9) }
    let pastEnd = npy(header: "{}", data: [], pad: false, declaredLength: 500)
    try expectOpen(pastEnd) { .headerPastEnd(path: $0, length: 500, fileSize: 12) }
    let huge = npy(major: 2, header: "{}", data: [], pad: false, declaredLength: 0xFFFF_FFFF)
    try expectOpen(huge) {
      .headerTooLarge(path: $0, length: 0xFFFF_FFFF, limit: NpyFile.maximumHeaderLength)
    }
  }

  @Test("malformed header dicts")
  func badHeaders() throws {
    let cases: [(String, String)] = [
      ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", "syntax error"),
      ("{'descr': '<f4' 'fortran_order': False}", "syntax error"),
      ("['descr', '<f4']", "not a dict"),
      ("{'fortran_order': False, 'shape': (2,)}", "no 'descr'"),
      ("{'descr': '<f4', 'shape': (2,)}", "'fortran_order'"),
      ("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", "'fortran_order'"),
      ("{'descr': '<f4', 'fortran_order': False, 'shape': [2]}", "'shape'"),
      ("{'descr': '<f4', 'fortran_order': False, 'shape': (2.5,)}", "syntax error"),
      ("{'descr': '<f4', 'fortran_order': False, 'shape': ('2',)}", "'shape' must hold"),
      ("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", "too large"),
      ("{'descr': '<f4', 'fortran_order': Falsey, 'shape': (2,)}", "syntax error"),
      ("{'a': " + String(repeating: "(", count: 10_000), "too deep"),
      ("{'descr': '<f4'} extra", "syntax error"),
    ]
    for (header, reason) in cases {
      try TestSupport.withTemporaryDirectory { directory in
        let path = try TestSupport.write(
          npy(header: header, data: []), to: "dict.npy", in: directory)
        do {
          _ = try NpyFile(path: path)
          Issue.record("\(header) was accepted")
        } catch let error as FormatError {
          guard case .invalidHeader(let errorPath, let actual) = error else {
            Issue.record("\(header.prefix(40)): unexpected \(error)")
            return
          }
          #expect(errorPath == path)
          #expect(actual.contains(reason), "\(header.prefix(40)): \(actual)")
          #expect(error.description.contains("dict.npy"))
          #expect(!error.description.contains("\n"))
        }
      }
    }
  }

  @Test("unsupported dtypes and Fortran order")
  func unsupported() throws {
    for descr in ["<c8", "<U3", "|O", "<f16", "<u4", "<i2", "<M8[ns]", ""] {
      let bytes = npy(
        header: "{'descr': '\(descr)', 'fortran_order': False, 'shape': (), }", data: [0])
      try expectOpen(bytes, mentioning: ["'\(descr)'"]) {
        .npyUnsupportedDescr(path: $0, descr: descr)
      }
    }
    let structured = npy(
      header: "{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (1,), }",
      data: [0, 0, 0, 0])
    try expectOpen(structured) { .npyUnsupportedDescr(path: $0, descr: "structured dtype") }
    let fortran = npy(
      header: "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
      data: [UInt8](repeating: 0, count: 16))
    try expectOpen(fortran, mentioning: ["Fortran"]) { .npyFortranOrder(path: $0) }
  }

  @Test("shape and data size mismatches, negative and overflowing shapes")
  func badSizes() throws {
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
    let short = npy(header: header, data: [UInt8](repeating: 0, count: 20))
    let dataOffset = short.count - 20
    try expectOpen(short) {
      .npyTruncated(path: $0, expected: dataOffset + 24, actual: dataOffset + 20)
    }
    let long = npy(header: header, data: [UInt8](repeating: 0, count: 28))
    try expectOpen(long, mentioning: ["28", "24"]) {
      .npySizeMismatch(path: $0, expected: 24, actual: 28)
    }
    for shape in [[-1], [1 << 62, 4], [Int.max, Int.max, 0]] {
      let text = shape.map(String.init).joined(separator: ", ")
      let bytes = npy(
        header: "{'descr': '<f4', 'fortran_order': False, 'shape': (\(text),), }", data: [])
      try expectOpen(bytes) { .npyInvalidShape(path: $0, shape: shape) }
    }
    let enormous = npy(
      header: "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }",
      data: [0])
    let needed = enormous.count - 1 + 8_000_000_000_000
    try expectOpen(enormous) { .npyTruncated(path: $0, expected: needed, actual: enormous.count) }
  }

  @Test("a missing file is an unreadable error naming it")
  func missingFile() {
    do {
      _ = try NpyFile(path: "/nonexistent/dir/absent.npy")
      Issue.record("opened a missing file")
    } catch {
      #expect("\(error)".contains("absent.npy"))
      #expect(error as? FormatError != nil)
    }
  }
}
