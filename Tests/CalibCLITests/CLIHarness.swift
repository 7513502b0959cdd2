import ArgumentParser
import CalibCLI
import Foundation
import Synchronization
import Testing

/// Runs `calib` in-process with captured stdout/stderr, as a user would see it.
struct CLIResult {
  var stdout: String
  var stderr: String
  var exitCode: Int32
}

final class Capture: Sendable {
  private let text = Mutex("")
  func append(_ s: String) { text.withLock { $0 += s } }
  var value: String { text.withLock { $0 } }
}

func calib(_ arguments: [String]) async -> CLIResult {
  let out = Capture()
  let err = Capture()
  let console = Console(out: { out.append($0) }, err: { err.append($0) })
  let code = await Console.$current.withValue(console) { await CalibCommand.execute(arguments) }
  return CLIResult(stdout: out.value, stderr: err.value, exitCode: code)
}

/// Runs `calib` and records a test issue carrying its stderr when it does not exit 0, so a
/// failing setup step names its cause instead of surfacing later as unparsable output.
@discardableResult
func calibSucceeds(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) async -> CLIResult {
  let result = await calib(arguments)
  #expect(result.exitCode == 0, "calib \(arguments.joined(separator: " ")) failed: \(result.stderr)", sourceLocation: sourceLocation)
  return result
}

/// The repository root (for Samples/ and Tests/Fixtures/).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .deletingLastPathComponent().deletingLastPathComponent()

/// The built `calib` executable, beside the test bundle.
var calibExecutable: URL {
  URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("calib")
}

/// Paths of the bundled sample.
enum BundledSample {
  static var weights: String { repositoryRoot.appendingPathComponent("Samples/minilm/weights.safetensors").path }
  static var steps: [String] {
    (0..<3).map { repositoryRoot.appendingPathComponent(String(format: "Samples/minilm/step-%04d.safetensors", $0)).path }
  }
  static func recipe(_ name: String) -> String {
    repositoryRoot.appendingPathComponent("Samples/recipes/\(name)").path
  }
}

/// Runs a system tool (`mount`, `umount`) with its output discarded; its exit status, or -1
/// when it cannot be started.
func runTool(_ tool: String, _ arguments: [String]) -> Int32 {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: tool)
  process.arguments = arguments
  process.standardOutput = FileHandle.nullDevice
  process.standardError = FileHandle.nullDevice
  guard (try? process.run()) != nil else { return -1 }
  process.waitUntilExit()
  return process.terminationStatus
}
