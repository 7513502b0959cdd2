import CalibCLI
import CalibCore
import CalibStore
import CalibTestSupport
import Foundation
import Testing

/// Out-of-range numbers, names and sizes get one error line from the built `calib`, never
/// a runtime trap. These run the executable, so a trap fails one case instead of the suite.
@Suite struct BoundedInputTests {
  struct Case: Sendable, CustomTestStringConvertible {
    let id: String
    let arguments: [String]
    let message: String
    var testDescription: String { id }
  }

  /// A store holding the bundled sample recorded as run `w8a8`.
  static func recordedStore(_ dir: TemporaryDirectory) async throws -> String {
    let store = dir.path("s.sqlite")
    await calibSucceeds(
      ["record", store, "--run", "w8a8", "--recipe", BundledSample.recipe("w8a8-static.yaml"), "--weights", BundledSample.weights,
       "--quiet"] + BundledSample.steps)
    return store
  }

  static let replayCases: [Case] =
    ["grid=1e300", "grid=1e9", "grid=-1", "grid=nan", "grid=inf", "maxshrink=1e300", "patience=1e300", "norm=1e300",
     "norm=-inf", "averaging_constant=nan"].map {
      Case(id: "--kwarg \($0)", arguments: ["--observer", "mse", "--kwarg", $0], message: "keyword argument '\($0.prefix { $0 != "=" })' must be")
    } + [
      Case(id: "num_bits=0", arguments: ["--set", "weights.num_bits=0"], message: "type 'int' supports num_bits 1 to 32, not 0"),
      Case(id: "num_bits=64", arguments: ["--set", "weights.num_bits=64"], message: "type 'int' supports num_bits 1 to 32, not 64"),
      Case(id: "num_bits=-3", arguments: ["--set", "num_bits=-3"], message: "not -3"),
      Case(id: "float num_bits=16", arguments: ["--set", "weights.type=float", "--set", "weights.num_bits=16"], message: "type 'float' supports num_bits 4 or 8"),
      Case(id: "num_bits=1e300", arguments: ["--set", "weights.num_bits=1e300"], message: "num_bits"),
      Case(
        id: "huge block_structure", arguments: ["--set", "weights.strategy=block", "--set", "weights.block_structure=[99999999999,99999999999]"],
        message: "block_structure [99999999999, 99999999999] is invalid"),
      Case(
        id: "Int.max block_structure", arguments: ["--set", "weights.strategy=block", "--set", "weights.block_structure=[9223372036854775807,4]"],
        message: "is invalid"),
      Case(id: "huge group_size", arguments: ["--set", "weights.strategy=group", "--set", "weights.group_size=9223372036854775807"], message: "group_size"),
    ]

  @Test(arguments: replayCases)
  func outOfRangeSettingsAreOneErrorLine(_ c: Case) async throws {
    let dir = try TemporaryDirectory()
    let store = try await Self.recordedStore(dir)
    let r = try runCalibProcess(["replay", store, "--from", "w8a8", "--name", "x", "--quiet"] + c.arguments)
    #expect(r.exitCode != 0 && r.exitCode < 128, "exit \(r.exitCode): \(r.stderr.prefix(400))")
    #expect(r.stderr.hasPrefix("Error: ") && r.stderr.contains(c.message), "\(r.stderr.prefix(400))")
    #expect(r.stderr.split(separator: "\n").count == 1, "one line: \(r.stderr.prefix(400))")
  }
}

/// Runs the built `calib` as a subprocess, with its stdout and stderr.
func runCalibProcess(_ arguments: [String], timeout: Double = 120) throws -> CLIResult {
  let process = Process()
  process.executableURL = calibExecutable
  process.arguments = arguments
  let dir = try TemporaryDirectory()
  let (outPath, errPath) = (dir.path("stdout"), dir.path("stderr"))
  FileManager.default.createFile(atPath: outPath, contents: nil)
  FileManager.default.createFile(atPath: errPath, contents: nil)
  let (out, err) = (try FileHandle(forWritingTo: URL(fileURLWithPath: outPath)), try FileHandle(forWritingTo: URL(fileURLWithPath: errPath)))
  process.standardOutput = out
  process.standardError = err
  try process.run()
  let deadline = Date().addingTimeInterval(timeout)
  while process.isRunning && Date() < deadline { usleep(5000) }
  if process.isRunning {
    kill(process.processIdentifier, SIGKILL)
  }
  process.waitUntilExit()
  try out.close()
  try err.close()
  let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
  return CLIResult(
    stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
    stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "", exitCode: status)
}
