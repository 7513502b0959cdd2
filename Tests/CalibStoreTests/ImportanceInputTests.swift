import CalibCore
import CalibStore
import CalibTestSupport
import Foundation
import Testing

/// imatrix_mse's input samples in record and replay: a module whose inputs were never
/// recorded (the MiniLM fixture keeps no `attention.self.key.input`) is an error naming
/// the module, the run and the fix, in both.
@Suite struct ImportanceInputTests {
  private static let module = "encoder.layer.0.attention.self.key"

  private static func recipe(_ observer: String) -> String {
    #"{"config_groups": {"g": {"targets": ["\#(module)"], "weights": {"num_bits": 4, "symmetric": true, "strategy": "channel", "observer": "\#(observer)"}}}}"#
  }

  private static func request(_ name: String, _ observer: String, fixture: ConformanceFixture) -> RecordRequest {
    RecordRequest(
      runName: name, recipe: (recipe(observer), "\(name).json"), weightFiles: [fixture.weightsFile],
      stepFiles: Array(fixture.stepFiles.prefix(2)))
  }

  @Test func recordingWithoutInputSamplesNamesTheModule() throws {
    let fixture = try ConformanceFixture.load(directory: ConformanceFixture.repositoryDirectory("llmc-main"))
    let dir = try TemporaryDirectory()
    let store = try CalibrationStore(path: dir.path("store.sqlite"))
    #expect(throws: ImportanceInputError.noInputSamples(module: Self.module, run: "imatrix")) {
      try Recorder(store: store).record(Self.request("imatrix", "imatrix_mse", fixture: fixture))
    }
  }

  @Test func replayingWithoutInputSamplesNamesTheModuleAndRun() throws {
    let fixture = try ConformanceFixture.load(directory: ConformanceFixture.repositoryDirectory("llmc-main"))
    let dir = try TemporaryDirectory()
    let store = try CalibrationStore(path: dir.path("store.sqlite"))
    _ = try Recorder(store: store).record(Self.request("base", "memoryless_minmax", fixture: fixture))
    let text = Self.recipe("imatrix_mse")
    let variant = ReplayVariant(name: "imatrix", recipe: try Recipe(text: text, source: "t.json"), recipeText: text, differences: [])
    #expect(throws: ImportanceInputError.noInputSamples(module: Self.module, run: "base")) {
      try ReplayEngine(store: store).replay(ReplayRequest(from: "base", variants: [variant], threads: 1))
    }
    let message = ImportanceInputError.noInputSamples(module: Self.module, run: "base").description
    #expect(message.contains("'\(Self.module).input'") && message.contains("choose another weight observer"))
  }
}
