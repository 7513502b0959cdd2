import CalibFormats
import Foundation
import Testing

@Suite("MiniLM calibration fixture")
struct MiniLMFixtureTests {
  /// `Tests/Fixtures/minilm/step-0000.safetensors`, located relative to this source file.
  static let stepZero = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/minilm/step-0000.safetensors").path

  @Test("step 0 lists its tensors and metadata and decodes bf16 to finite float32")
  func stepZeroFile() throws {
    let file = try SafetensorsFile(path: Self.stepZero)
    #expect(file.metadata == ["step": "0"])
    #expect(file.entries.count == 14)
    #expect(file.entries.allSatisfy { $0.dtype == .bf16 })
    #expect(file.entries.first?.byteRange.lowerBound == 0)
    #expect(file.entries.last?.byteRange.upperBound == file.fileSize - file.dataStart)

    let name = "encoder.layer.0.attention.self.k"
    let entry = try #require(file.entry(named: name))
    #expect(entry.dtype == .bf16)
    #expect(entry.shape == [2, 12, 48, 32])
    let tensor = try file.tensor(name)
    #expect(tensor.shape == [2, 12, 48, 32])
    #expect(tensor.values.count == 2 * 12 * 48 * 32)
    #expect(tensor.values.allSatisfy { $0.isFinite })
    #expect(tensor.values.contains { $0 != 0 })

    // Every value is exactly a bf16: widening then narrowing reproduces the stored bytes.
    let raw = try file.rawBytes(of: name)
    #expect(ElementType.bf16.encode(tensor.values) == raw)
  }
}
