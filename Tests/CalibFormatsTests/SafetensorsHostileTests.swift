import CalibCore
import CalibFormats
import Foundation
import Testing

@Suite("Safetensors hostile files")
struct SafetensorsHostileTests {
  /// Writes `bytes` as `name` in a fresh directory and checks that opening it throws `expected`
  /// (built from the file's path) with a description mentioning `fragments` and the file name.
  private func expectOpen(
    _ bytes: [UInt8], name: String = "hostile.safetensors", mentioning fragments: [String] = [],
    sourceLocation: SourceLocation = #_sourceLocation,
    _ expected: (String) -> FormatError
  ) throws {
    try TestSupport.withTemporaryDirectory { directory in
      let path = try TestSupport.write(bytes, to: name, in: directory)
      TestSupport.expectError(
        expected(path), mentioning: [name] + fragments, sourceLocation: sourceLocation
      ) {
        _ = try SafetensorsFile(path: path)
      }
    }
  }

  /// A header with one tensor entry `t` whose fields are given as raw JSON text.
  private func entry(_ fields: String, data: Int = 8) -> [UInt8] {
    TestSupport.safetensors(
      header: #"{"t":{\#(fields)}}"#, data: [UInt8](repeating: 0, count: data))
  }

  @Test("files shorter than the 8-byte length prefix")
  func tooShort() throws {
    try expectOpen([1, 2, 3]) { .fileTooShort(path: $0, size: 3) }
    try expectOpen([]) { .fileTooShort(path: $0, size: 0) }
  }

  @Test("a header length past the end of the file")
  func headerPastEnd() throws {
    let bytes = TestSupport.safetensors(header: "{}", data: [0, 0], declaredLength: 100)
    try expectOpen(bytes) { .headerPastEnd(path: $0, length: 100, fileSize: 12) }
  }

  @Test("a header length over 100 MB, including one that does not fit in Int")
  func headerTooLarge() throws {
    let limit = SafetensorsHeader.maximumLength
    for length in [UInt64(limit) + 1, UInt64.max] {
      let bytes = TestSupport.safetensors(header: "{}", declaredLength: length)
      try expectOpen(bytes, mentioning: ["\(length)"]) {
        .headerTooLarge(path: $0, length: length, limit: limit)
      }
    }
  }

  @Test("headers that are not UTF-8, not JSON, or not an object")
  func malformedHeaders() throws {
    let invalidUTF8 = TestSupport.safetensors(headerBytes: [0x7B, 0x22, 0xFF, 0x22, 0x7D])
    try expectOpen(invalidUTF8) { .invalidHeader(path: $0, reason: "header is not valid UTF-8") }
    for text in ["[1, 2]", "\"text\"", "", "   ", "null"] {
      try expectOpen(TestSupport.safetensors(header: text)) {
        .invalidHeader(path: $0, reason: "header is not a JSON object")
      }
    }
    for text in ["{", "{\"a\" 1}", "{} trailing", "{\"t\":" + String(repeating: "[", count: 5000)] {
      try TestSupport.withTemporaryDirectory { directory in
        let path = try TestSupport.write(
          TestSupport.safetensors(header: text), to: "bad-json.safetensors", in: directory)
        do {
          _ = try SafetensorsFile(path: path)
          Issue.record("\(text.prefix(20)) was accepted")
        } catch let error as FormatError {
          guard case .invalidHeader(let errorPath, let reason) = error else {
            Issue.record("unexpected \(error)")
            return
          }
          #expect(errorPath == path && reason.hasPrefix("header is not valid JSON"))
          #expect(error.description.contains("bad-json.safetensors"))
          #expect(!error.description.contains("\n"))
        }
      }
    }
  }

  @Test("metadata that is not a string-to-string object")
  func badMetadata() throws {
    for metadata in [#"{"step":0}"#, #""x""#, #"{"a":{"b":"c"}}"#] {
      try expectOpen(TestSupport.safetensors(header: #"{"__metadata__":\#(metadata)}"#)) {
        .invalidHeader(
          path: $0, reason: "\"__metadata__\" must be an object mapping strings to strings")
      }
    }
    let nullMetadata = TestSupport.safetensors(header: #"{"__metadata__":null}"#)
    try TestSupport.withTemporaryDirectory { directory in
      let path = try TestSupport.write(nullMetadata, to: "null.safetensors", in: directory)
      #expect(try SafetensorsFile(path: path).metadata.isEmpty)
    }
  }

  @Test("entries missing a field or with a field of the wrong JSON type")
  func badEntries() throws {
    let shapeReason = #""shape" must be an array of integers"#
    let cases: [(String, String)] = [
      (#""shape":[2],"data_offsets":[0,8]"#, #"entry has no "dtype""#),
      (#""dtype":"F32","data_offsets":[0,8]"#, #"entry has no "shape""#),
      (#""dtype":"F32","shape":[2]"#, #"entry has no "data_offsets""#),
      (#""dtype":32,"shape":[2],"data_offsets":[0,8]"#, #""dtype" must be a string"#),
      (#""dtype":"F32","shape":"2","data_offsets":[0,8]"#, shapeReason),
      (#""dtype":"F32","shape":[2.5],"data_offsets":[0,8]"#, shapeReason),
      (#""dtype":"F32","shape":[true],"data_offsets":[0,8]"#, shapeReason),
      (#""dtype":"F32","shape":[1e30],"data_offsets":[0,8]"#, shapeReason),
      (
        #""dtype":"F32","shape":[2],"data_offsets":{"a":0}"#,
        #""data_offsets" must be an array of two integers"#
      ),
      (#""dtype":"F32","shape":[2],"data_offsets":[0]"#, "got 1 numbers"),
      (#""dtype":"F32","shape":[2],"data_offsets":[0,4,8]"#, "got 3 numbers"),
    ]
    for (fields, reason) in cases {
      try TestSupport.withTemporaryDirectory { directory in
        let path = try TestSupport.write(entry(fields), to: "entry.safetensors", in: directory)
        do {
          _ = try SafetensorsFile(path: path)
          Issue.record("\(fields) was accepted")
        } catch let error as FormatError {
          guard case .invalidEntry(let errorPath, let tensor, let actualReason) = error else {
            Issue.record("\(fields): unexpected \(error)")
            return
          }
          #expect(errorPath == path && tensor == "t")
          #expect(actualReason.contains(reason), "\(fields): \(actualReason)")
          #expect(error.description.contains("entry.safetensors"))
          #expect(error.description.contains("'t'"))
        }
      }
    }
    try expectOpen(TestSupport.safetensors(header: #"{"t":5}"#), mentioning: ["'t'"]) {
      .invalidEntry(path: $0, tensor: "t", reason: "entry is not a JSON object")
    }
  }

  @Test("an unknown dtype")
  func unknownDType() throws {
    try expectOpen(
      entry(#""dtype":"F128","shape":[1],"data_offsets":[0,16]"#, data: 16),
      mentioning: ["'t'", "F128"]
    ) { .unknownDType(path: $0, tensor: "t", dtype: "F128") }
  }

  @Test("negative dimensions and shapes whose element or byte count overflows")
  func badShapes() throws {
    let shapes: [[Int]] = [[-1, 2], [1 << 40, 1 << 40], [Int.max / 2], [Int.max, Int.max, 0]]
    for shape in shapes {
      let text = shape.map(String.init).joined(separator: ",")
      try expectOpen(
        entry(#""dtype":"F32","shape":[\#(text)],"data_offsets":[0,8]"#),
        mentioning: ["'t'"]
      ) { .invalidShape(path: $0, tensor: "t", shape: shape) }
    }
  }

  @Test("data_offsets that are negative or decreasing")
  func badOffsets() throws {
    try expectOpen(
      entry(#""dtype":"U8","shape":[4],"data_offsets":[8,4]"#),
      mentioning: ["'t'"]
    ) { .invalidOffsets(path: $0, tensor: "t", begin: 8, end: 4) }
    try expectOpen(
      entry(#""dtype":"U8","shape":[4],"data_offsets":[-4,0]"#),
      mentioning: ["'t'"]
    ) { .invalidOffsets(path: $0, tensor: "t", begin: -4, end: 0) }
  }

  @Test("data past the end of the data section (a truncated file)")
  func offsetsPastEnd() throws {
    try expectOpen(
      entry(#""dtype":"F32","shape":[4],"data_offsets":[0,16]"#),
      mentioning: ["'t'", "16"]
    ) { .offsetsPastEnd(path: $0, tensor: "t", end: 16, dataSize: 8) }
    let huge = Int.max - 1
    try expectOpen(
      entry(#""dtype":"U8","shape":[\#(huge)],"data_offsets":[1,\#(huge + 1)]"#),
      mentioning: ["'t'"]
    ) { .offsetsPastEnd(path: $0, tensor: "t", end: huge + 1, dataSize: 8) }
  }

  @Test("two tensors whose byte ranges overlap")
  func overlap() throws {
    let header =
      #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"#
      + #""b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
    let bytes = TestSupport.safetensors(header: header, data: [UInt8](repeating: 0, count: 12))
    try expectOpen(bytes, mentioning: ["'a'", "'b'"]) {
      .overlappingTensors(path: $0, tensor: "b", other: "a")
    }
    let nested =
      #"{"outer":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},"#
      + #""inner":{"dtype":"U8","shape":[2],"data_offsets":[2,4]},"#
      + #""zero":{"dtype":"U8","shape":[0],"data_offsets":[3,3]}}"#
    let nestedBytes = TestSupport.safetensors(header: nested, data: [UInt8](repeating: 0, count: 8))
    try expectOpen(nestedBytes, mentioning: ["'inner'", "'outer'"]) {
      .overlappingTensors(path: $0, tensor: "inner", other: "outer")
    }
  }

  /// Checked with the safetensors fuzzer (`Fuzz/run.sh`): JSON nested far deeper than any
  /// header, but well-formed, is a thrown error and not a stack overflow, wherever it is.
  @Test("well-formed JSON nested 100,000 levels deep", arguments: ["shape", "__metadata__", "x"])
  func deepNesting(field: String) throws {
    let depth = 100_000
    let nested = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
    let header = field == "shape"
      ? #"{"t":{"dtype":"F32","shape":"# + nested + #","data_offsets":[0,0]}}"#
      : #"{""# + field + #"":"# + nested + "}"
    try TestSupport.withTemporaryDirectory { directory in
      let path = try TestSupport.write(
        TestSupport.safetensors(header: header), to: "deep.safetensors", in: directory)
      #expect(throws: FormatError.self) { _ = try SafetensorsFile(path: path) }
    }
  }

  @Test("a byte range that disagrees with dtype and shape")
  func sizeMismatch() throws {
    try expectOpen(
      entry(#""dtype":"F32","shape":[3],"data_offsets":[0,8]"#),
      mentioning: ["'t'", "12"]
    ) { .sizeMismatch(path: $0, tensor: "t", expected: 12, actual: 8) }
    try expectOpen(
      entry(#""dtype":"BF16","shape":[],"data_offsets":[0,0]"#),
      mentioning: ["'t'"]
    ) { .sizeMismatch(path: $0, tensor: "t", expected: 2, actual: 0) }
  }

  @Test("data truncated after the file was opened")
  func truncatedAfterOpening() throws {
    try TestSupport.withTemporaryDirectory { directory in
      let path = directory + "/shrinking.safetensors"
      var writer = SafetensorsWriter()
      writer.append(name: "first", tensor: Tensor(shape: [4], values: [1, 2, 3, 4]))
      writer.append(name: "second", tensor: Tensor(shape: [4], values: [5, 6, 7, 8]))
      try writer.write(to: path)
      let file = try SafetensorsFile(path: path)
      let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
      try handle.truncate(atOffset: UInt64(file.dataStart + 16 + 6))
      try handle.close()
      #expect(try file.tensor("first").values == [1, 2, 3, 4])
      TestSupport.expectError(
        .truncatedData(path: path, tensor: "second", expected: 16, actual: 6),
        mentioning: ["shrinking.safetensors", "'second'"]
      ) {
        _ = try file.tensor("second")
      }
    }
  }

  /// A mapped tensor (4 MiB or more) whose file is truncated while it is being read: the
  /// read past the new end would raise SIGBUS and kill the process; it finds zeros, and the
  /// read fails with an error naming the file and the tensor.
  @Test("a mapped tensor truncated while it is read")
  func truncatedWhileMapped() throws {
    try TestSupport.withTemporaryDirectory { directory in
      let path = directory + "/rewritten.safetensors"
      let count = 2 << 20  // 8 MiB of float32: mapped (4 MiB or more)
      var writer = SafetensorsWriter()
      writer.append(name: "big", tensor: Tensor(shape: [count], values: [Float](repeating: 1, count: count)))
      try writer.write(to: path)
      let file = try SafetensorsFile(path: path)
      let kept = 12_345
      var sum = 0.0
      TestSupport.expectError(
        .truncatedData(path: path, tensor: "big", expected: 4 * count, actual: kept),
        mentioning: ["rewritten.safetensors", "'big'"]
      ) {
        try file.withRawBytes(of: "big") { raw in
          #expect(truncate(path, off_t(file.dataStart + kept)) == 0)
          for value in raw.bindMemory(to: Float.self) { sum += Double(value) }
        }
      }
      // The bytes still in the file were read; the rest read as zeros.
      #expect(sum <= Double(kept / 4 + 1024))
      // A later mapping of an intact file reads normally, and a SIGBUS guard is not left behind.
      try writer.write(to: path)
      let again = try SafetensorsFile(path: path)
      let total = try again.withRawBytes(of: "big") { raw in raw.bindMemory(to: Float.self).reduce(0, +) }
      #expect(total == Float(count))
    }
  }

  @Test("unknown tensor names and unreadable paths")
  func missing() throws {
    try TestSupport.withTemporaryDirectory { directory in
      let path = directory + "/ok.safetensors"
      try SafetensorsWriter().write(to: path)
      let file = try SafetensorsFile(path: path)
      #expect(file.entry(named: "nope") == nil)
      TestSupport.expectError(
        .tensorNotFound(path: path, tensor: "nope"), mentioning: ["ok.safetensors", "'nope'"]
      ) {
        _ = try file.tensor("nope")
      }
      TestSupport.expectError(
        .tensorNotFound(path: path, tensor: "nope"), mentioning: ["'nope'"]
      ) {
        _ = try file.rawBytes(of: "nope")
      }
      let absent = directory + "/absent.safetensors"
      #expect(throws: FormatError.self) { try SafetensorsFile(path: absent) }
      do {
        _ = try SafetensorsFile(path: absent)
      } catch let error as FormatError {
        guard case .unreadable = error else {
          Issue.record("unexpected \(error)")
          return
        }
        #expect(error.description.contains("absent.safetensors"))
      }
      #expect(throws: FormatError.self) { try SafetensorsFile(path: directory) }
    }
  }

  @Test("a header can be parsed and validated without a file")
  func headerParsing() throws {
    let json =
      Array(#"{"b":{"dtype":"I32","shape":[1],"data_offsets":[4,8]},"#.utf8)
      + Array(#""a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}    "#.utf8)
    let header = try SafetensorsHeader(parsing: json, dataSectionSize: 8, path: "mem")
    #expect(header.entries.map(\.name) == ["a", "b"])
    #expect(header.entry(named: "b")?.byteRange == 4..<8)
    #expect(header.entries[0].elementCount == 1 && header.entries[0].byteCount == 4)
  }
}
