import CalibStore
import Foundation
import FuzzDriver

@main enum RecipeFuzzer {
  static func main() { runLibFuzzer(fuzzRecipe) }
}

/// The scratch file each input is written to, one per fuzzing process.
private let scratchPath = FileManager.default.temporaryDirectory
  .appendingPathComponent("calib-fuzz-recipe-\(getpid()).yaml").path

/// Modules of the MiniLM sample, so that a parsed recipe's targets and regexes get matched.
private let modules: [(name: String, type: String?)] = [
  ("encoder.layer.0.attention.self", "BertSelfAttention"),
  ("encoder.layer.0.attention.self.query", "Linear"),
  ("encoder.layer.0.attention.self.key", "Linear"),
  ("encoder.layer.0.attention.self.value", "Linear"),
  ("encoder.layer.0.attention.output.dense", "Linear"),
  ("encoder.layer.0.intermediate.dense", "Linear"),
  ("encoder.layer.0.output.dense", "Linear"),
  ("lm_head", nil),
]

/// Reads one input as a recipe file, parses it and assigns its schemes to ``modules``, as
/// `calib replay --recipe` does. Every failure must be a thrown ``RecipeError`` (or a
/// quantization argument error); a trap, a sanitizer report or a hang is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecipe(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  let bytes = data.map { Data(bytes: $0, count: size) } ?? Data()
  guard FileManager.default.createFile(atPath: scratchPath, contents: bytes) else {
    fatalError("cannot write the scratch file \(scratchPath)")
  }
  defer { unlink(scratchPath) }
  guard let text = try? RecipeFile.read(scratchPath),
    let recipe = try? Recipe(text: text, source: scratchPath)
  else { return 0 }
  _ = try? recipe.schemes(for: modules)
  return 0
}
