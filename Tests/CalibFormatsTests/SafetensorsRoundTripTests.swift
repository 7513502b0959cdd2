import CalibCore
import CalibFormats
import Foundation
import Testing

@Suite("Safetensors round trips")
struct SafetensorsRoundTripTests {
  @Test("every dtype, metadata, an empty tensor and a scalar survive write then read")
  func everyDType() throws {
    try TestSupport.withTemporaryDirectory { directory in
      let path = directory + "/all.safetensors"
      var writer = SafetensorsWriter(metadata: ["step": "3", "note": "quote \" and \\ ok"])
      var expected: [String: [Float]] = [:]
      for (index, type) in ElementType.allCases.enumerated() {
        let values: [Float]
        switch type {
        case .bool: values = [1, 0, 1, 1, 0, 0]
        case .u8: values = [0, 1, 255, 2, 100, 3]
        case .i8, .i32, .i64: values = [0, 1, -1, 2, -100, 3]
        default: values = [0, 1, -1, 2, 0.5, 3]
        }
        let name = "t\(index).\(type.rawValue)"
        writer.append(name: name, tensor: Tensor(shape: [2, 3], values: values), as: type)
        expected[name] = values
      }
      writer.append(RawTensor(name: "empty", dtype: .bf16, shape: [4, 0, 2], bytes: []))
      writer.append(name: "scalar", tensor: Tensor(shape: [], values: [-7.25]), as: .f16)
      try writer.write(to: path)

      let file = try SafetensorsFile(path: path)
      #expect(file.metadata == ["step": "3", "note": "quote \" and \\ ok"])
      #expect(file.entries.map(\.name) == writer.tensors.map(\.name))
      for raw in writer.tensors {
        let entry = try #require(file.entry(named: raw.name))
        #expect(entry.dtype == raw.dtype)
        #expect(entry.shape == raw.shape)
        #expect(try file.rawBytes(of: raw.name) == raw.bytes)
      }
      for (name, values) in expected {
        let tensor = try file.tensor(name)
        #expect(tensor.shape == [2, 3])
        #expect(tensor.values == values, "\(name)")
      }
      let empty = try file.tensor("empty")
      #expect(empty.shape == [4, 0, 2] && empty.values.isEmpty)
      #expect(try file.tensor("scalar") == Tensor(shape: [], values: [-7.25]))
    }
  }

  @Test("offsets are contiguous in the given order and the header is padded to 8 bytes")
  func layout() throws {
    try TestSupport.withTemporaryDirectory { directory in
      let path = directory + "/layout.safetensors"
      let writer = SafetensorsWriter(tensors: [
        RawTensor(name: "z", dtype: .u8, shape: [3], bytes: [1, 2, 3]),
        RawTensor(name: "a", dtype: .f32, shape: [1], bytes: [0, 0, 0x80, 0x3F]),
        RawTensor(name: "m", dtype: .i64, shape: [0], bytes: []),
        RawTensor(name: "b", dtype: .i8, shape: [], bytes: [0xFE]),
      ])
      try writer.write(to: path)
      let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
      let length = bytes[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
      #expect(length % 8 == 0)
      #expect(bytes.count == 8 + length + 8)
      let header = String(decoding: bytes[8..<8 + length], as: UTF8.self)
      #expect(header.hasPrefix("{") && !header.contains("__metadata__"))
      #expect(header.trimmingCharacters(in: .whitespaces).hasSuffix("}"))
      #expect(Array(bytes[(8 + length)...]) == [1, 2, 3, 0, 0, 0x80, 0x3F, 0xFE])

      let file = try SafetensorsFile(path: path)
      #expect(file.entries.map(\.name) == ["z", "a", "m", "b"])
      #expect(file.entries.map(\.byteRange) == [0..<3, 3..<7, 7..<7, 7..<8])
      #expect(file.metadata.isEmpty)
      #expect(try file.tensor("b") == Tensor(shape: [], values: [-2]))
      let sum = try file.withRawBytes(of: "z") { $0.reduce(0) { $0 + Int($1) } }
      #expect(sum == 6)
    }
  }

  @Test("names with quotes, control characters and non-ASCII text round-trip")
  func awkwardNames() throws {
    try TestSupport.withTemporaryDirectory { directory in
      let path = directory + "/names.safetensors"
      let names = ["a\"b", "back\\slash", "tab\tnew\nline\u{1}", "café/层.0", ""]
      var writer = SafetensorsWriter(metadata: ["ключ": "värde\n"])
      for name in names {
        writer.append(name: name, tensor: Tensor(shape: [1], values: [1]), as: .bf16)
      }
      try writer.write(to: path)
      let file = try SafetensorsFile(path: path)
      #expect(file.entries.map(\.name) == names)
      #expect(file.metadata == ["ключ": "värde\n"])
    }
  }

  @Test("the writer replaces an existing file and leaves no temporary files behind")
  func atomicReplace() throws {
    try TestSupport.withTemporaryDirectory { directory in
      let path = directory + "/out.safetensors"
      try Data("old contents".utf8).write(to: URL(fileURLWithPath: path))
      var writer = SafetensorsWriter()
      writer.append(name: "x", tensor: Tensor(shape: [2], values: [1, 2]))
      try writer.write(to: path)
      #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["out.safetensors"])
      #expect(try SafetensorsFile(path: path).tensor("x").values == [1, 2])
    }
  }

  @Test("an empty writer produces a valid file with no tensors")
  func emptyFile() throws {
    try TestSupport.withTemporaryDirectory { directory in
      let path = directory + "/empty.safetensors"
      try SafetensorsWriter().write(to: path)
      let file = try SafetensorsFile(path: path)
      #expect(file.entries.isEmpty && file.metadata.isEmpty)
      #expect(file.fileSize == 16)
    }
  }

  @Test("the writer rejects inconsistent tensors without touching the destination")
  func writerValidation() throws {
    try TestSupport.withTemporaryDirectory { directory in
      let path = directory + "/bad.safetensors"
      let cases: [(RawTensor, String)] = [
        (RawTensor(name: "short", dtype: .f32, shape: [2], bytes: [0, 0, 0]), "needs 8"),
        (RawTensor(name: "neg", dtype: .u8, shape: [-1], bytes: []), "negative"),
        (RawTensor(name: "__metadata__", dtype: .u8, shape: [], bytes: [1]), "reserved"),
      ]
      for (tensor, reason) in cases {
        let writer = SafetensorsWriter(tensors: [tensor])
        do {
          try writer.write(to: path)
          Issue.record("\(tensor.name) was written")
        } catch let error as FormatError {
          guard case .invalidTensor(let errorPath, let name, _) = error else {
            Issue.record("unexpected \(error)")
            continue
          }
          #expect(errorPath == path && name == tensor.name)
          #expect(error.description.contains(reason), "\(error)")
          #expect(error.description.contains("bad.safetensors"))
        }
      }
      let duplicate = RawTensor(name: "d", dtype: .u8, shape: [], bytes: [1])
      TestSupport.expectError(
        .invalidTensor(path: path, tensor: "d", reason: "another tensor has the same name"),
        mentioning: ["bad.safetensors", "'d'"]
      ) {
        try SafetensorsWriter(tensors: [duplicate, duplicate]).write(to: path)
      }
      #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }
  }

  @Test("a missing destination directory is a write error naming the path")
  func writeIntoMissingDirectory() throws {
    try TestSupport.withTemporaryDirectory { directory in
      let path = directory + "/missing/out.safetensors"
      #expect(throws: FormatError.self) { try SafetensorsWriter().write(to: path) }
      do {
        try SafetensorsWriter().write(to: path)
      } catch {
        #expect("\(error)".contains("missing/out.safetensors"))
      }
    }
  }
}
