import CalibStore
import CalibTestSupport
import Foundation
import GRDB
import Testing

/// A store on a read-only file system (a read-only mount, a snapshot, a container volume)
/// can be read by every command that only reads, and commands that write say it is
/// read-only. Runs where a bind mount can be made read-only (root on Linux); elsewhere it
/// returns without checking.
@Suite(.serialized) struct ReadOnlyMediaTests {
  @Test func readersWorkOnAReadOnlyMount() async throws {
    let dir = try TemporaryDirectory()
    let store = try await BoundedInputTests.recordedStore(dir)
    let mountPoint = dir.path("ro")
    try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
    guard runTool("/bin/mount", ["--bind", dir.url.path, mountPoint]) == 0 else { return }
    defer { _ = runTool("/bin/umount", [mountPoint]) }
    guard runTool("/bin/mount", ["-o", "remount,bind,ro", mountPoint]) == 0 else { return }
    let seen = mountPoint + "/s.sqlite"

    for arguments in [["runs", seen], ["check", seen], ["show", seen, "w8a8"], ["diff", seen, "w8a8", "w8a8", "--metrics"]] {
      await calibSucceeds(arguments)
    }
    await calibSucceeds(["export", seen, "w8a8", dir.path("q.safetensors")])
    for arguments in [["rm", seen, "w8a8"], ["replay", seen, "--from", "w8a8", "--name", "b", "--observer", "mse"]] {
      let r = await calib(arguments)
      #expect(r.exitCode == 1 && r.stderr.contains("is read-only"), "\(arguments[0]): \(r.stderr)")
    }

    // While a writer elsewhere holds transactions in the -wal file, a reader there could not
    // see them (nor lock against that writer): refused with the reason.
    let writer = try DatabaseQueue(path: store)
    try await writer.write { db in try db.execute(sql: "UPDATE run SET note = 'pending' WHERE name = 'w8a8'") }
    let pending = await calib(["runs", seen])
    #expect(pending.exitCode == 1 && pending.stderr.contains("its -wal file holds transactions"), "\(pending.stderr)")
    try writer.close()
  }
}
