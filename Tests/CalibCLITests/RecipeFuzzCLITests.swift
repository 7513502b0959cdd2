import CalibStore
import CalibTestSupport
import Foundation
import Testing

/// What `calib record` prints for the recipes the fuzzer (`Fuzz/run.sh`) showed to crash
/// Yams: one error line naming the recipe file and line.
@Suite struct RecipeFuzzCLITests {
  @Test(arguments: ["{{} } ", "quant:\n  ? [a, b]\n  : 1\n"])
  func nonScalarKeysAreOneErrorLine(_ text: String) async throws {
    let dir = try TemporaryDirectory()
    let recipe = try HostileInputTests.recipeFile(dir, text)
    let line = text.hasPrefix("{") ? 1 : 2
    let r = await calib(HostileInputTests.record(dir.path("s.sqlite"), recipe: recipe))
    #expect(r.exitCode == 1)
    #expect(
      r.stderr
        == "Error: \(recipe): line \(line): a mapping key is a sequence or mapping: write recipe keys as plain names\n")
  }
}
