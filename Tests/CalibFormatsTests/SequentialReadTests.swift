import CalibCore
import CalibFormats
import Foundation
import Testing

@Suite("SafetensorsFile.forEachRawBytes")
struct SequentialReadTests {
  /// Small tensors (batched into shared reads) around one of 4 MiB (mapped).
  private func writeFile(_ path: String) throws -> SafetensorsWriter {
    var writer = SafetensorsWriter()
    var rng = SystemRandomNumberGenerator()
    for (i, count) in [3, 1000, 0, 77, (4 << 20) + 5, 12, 4096].enumerated() {
      writer.append(RawTensor(name: "t\(i)", dtype: .u8, shape: [count], bytes: (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }))
    }
    try writer.write(to: path)
    return writer
  }

  @Test func lendsEveryTensorsBytesInTheOrderGiven() throws {
    try TestSupport.withTemporaryDirectory { directory in
      let path = directory + "/s.safetensors"
      let writer = try writeFile(path)
      let file = try SafetensorsFile(path: path)
      // File order (contiguous runs), reversed (no run longer than one), and a subset.
      for order in [file.entries, file.entries.reversed(), [file.entries[5], file.entries[1], file.entries[6]]] {
        var seen: [Int] = []
        try file.forEachRawBytes(of: order) { index, raw in
          seen.append(index)
          #expect(Array(raw) == writer.tensors.first { $0.name == order[index].name }?.bytes, "\(order[index].name)")
        }
        #expect(seen == Array(order.indices))
      }
    }
  }

  @Test func aFileThatShrankAfterOpeningIsAnError() throws {
    try TestSupport.withTemporaryDirectory { directory in
      let path = directory + "/s.safetensors"
      _ = try writeFile(path)
      let file = try SafetensorsFile(path: path)
      let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
      try handle.truncate(atOffset: UInt64(file.fileSize - 100))
      try handle.close()
      #expect(throws: FormatError.self) {
        try file.forEachRawBytes(of: file.entries) { _, _ in }
      }
    }
  }
}
