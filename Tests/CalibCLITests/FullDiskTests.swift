import CalibCore
import CalibFormats
import CalibStore
import CalibTestSupport
import Foundation
import Testing

/// A recording that fills the disk fails with one line naming the store's file, gives the
/// failed step's space back, is marked failed, and `rm` frees its space. Runs where a
/// small tmpfs can be mounted (root on Linux); elsewhere it returns without checking.
@Suite(.serialized) struct FullDiskTests {
  @Test func aRecordingThatFillsTheDiskFailsCleanly() async throws {
    let dir = try TemporaryDirectory()
    let mountPoint = dir.path("disk")
    try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
    guard runTool("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint]) == 0 else { return }
    defer { _ = runTool("/bin/umount", [mountPoint]) }
    let input = try SyntheticRecording(in: dir, steps: 8, moduleNames: ["layers.0.proj"], tokens: 64, hidden: 256)
    let store = mountPoint + "/s.sqlite"
    let smallDir = try TemporaryDirectory()
    let small = try SyntheticRecording(in: smallDir, steps: 1, moduleNames: ["layers.0.proj"], tokens: 4, hidden: 256)
    await calibSucceeds(["record", store, "--run", "a", "--recipe", small.recipeFile, "--weights", small.weightsFile, "-q"] + small.stepFiles)
    let failed = await calib(["record", store, "--run", "b", "--recipe", input.recipeFile, "--weights", input.weightsFile, "-q"] + input.stepFiles)
    #expect(failed.exitCode != 0)
    #expect(failed.stderr.contains(store) && (failed.stderr.contains("No space left") || failed.stderr.contains("is full")), "\(failed.stderr)")
    #expect(failed.stderr.split(separator: "\n").count == 1)
    let runs = try CalibrationStore(path: store, readOnly: true).runs()
    #expect(runs.first { $0.name == "b" }?.status == .failed)
    await calibSucceeds(["rm", store, "b"])
    #expect(try CalibrationStore(path: store, readOnly: true).runs().map(\.name) == ["a"])
    #expect(try CalibrationStore(path: store).check().isEmpty)
    // The space is back: a small recording fits again.
    await calibSucceeds(["record", store, "--run", "c", "--recipe", small.recipeFile, "--weights", small.weightsFile, "-q"] + small.stepFiles)
  }
}
