import CalibStore
import CalibTestSupport
import Foundation
import Testing

/// Output that cannot be written is an error, never a silent success: a full disk under a
/// redirected stdout, a stdout the parent closed. The built `calib` runs as a subprocess,
/// so its streams are real descriptors.
@Suite struct StandardOutputTests {
  @Test(arguments: [
    (["show", "w8a8"], false), (["report", "w8a8", "-o", "-"], true), (["export", "w8a8", "-", "--format", "json"], true),
    (["diff", "w8a8", "w8a8"], false),
  ])
  func aFullDiskUnderStdoutFailsTheCommand(_ c: (arguments: [String], claimsOutput: Bool)) async throws {
    let dir = try TemporaryDirectory()
    let store = try await BoundedInputTests.recordedStore(dir)
    let arguments = [c.arguments[0], store] + c.arguments.dropFirst()
    let r = try runCalibProcess(arguments, shell: "> /dev/full")
    #expect(r.exitCode == 1, "exit \(r.exitCode): \(r.stderr)")
    #expect(r.stderr.contains("Error: cannot write to standard output (No space left on device)"), "\(r.stderr)")
    if c.claimsOutput {
      // It does not claim to have written what was lost.
      #expect(r.stderr.split(separator: "\n").count == 1, "one line: \(r.stderr)")
    }
  }

  /// With stdout closed, the first file the process opens would take descriptor 1; writes
  /// meant for stdout must not land in it (libdispatch's eventfd, or the payload file).
  @Test func aClosedStdoutIsAnErrorOnlyWhenWrittenTo() async throws {
    let dir = try TemporaryDirectory()
    let store = try await BoundedInputTests.recordedStore(dir)
    let shown = try runCalibProcess(["show", store, "w8a8"], shell: ">&-")
    #expect(shown.exitCode == 1)
    #expect(shown.stderr.contains("standard output (Bad file descriptor)"), "\(shown.stderr)")
    // A recording with its JSON summary on a closed stdout and stderr: the store stays whole.
    let recorded = try runCalibProcess(
      ["record", store, "--run", "more", "--recipe", BundledSample.recipe("fp8.yaml"), "--weights", BundledSample.weights,
       "--format", "json"] + BundledSample.steps, shell: ">&- 2>&-")
    #expect(recorded.exitCode == 1)
    #expect(try CalibrationStore(path: store).check().isEmpty)
    #expect(try CalibrationStore(path: store, readOnly: true).runs().map(\.name).sorted() == ["more", "w8a8"])
    // A command that writes nothing to stdout is not affected.
    let checked = try runCalibProcess(["check", store], shell: ">&-")
    #expect(checked.exitCode == 0, "\(checked.stderr)")
  }

  /// Where SIGPIPE is ignored (as a Python parent may leave it), a reader that goes away
  /// stops the command quietly, with the status the signal would have given.
  @Test func aReaderThatGoesAwayStopsTheCommandQuietly() async throws {
    let dir = try TemporaryDirectory()
    let store = try await BoundedInputTests.recordedStore(dir)
    // The page (about 70 kB) is more than `head` takes, and more than a pipe holds.
    let script = #"trap '' PIPE; ("$0" "$@"; echo "status $?" >&2) | head -c 10 > /dev/null"#
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", script, calibExecutable.path, "report", store, "w8a8", "-o", "-"]
    let err = Pipe()
    process.standardError = err
    try process.run()
    let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(stderr == "status 141\n", "\(stderr)")
  }
}
