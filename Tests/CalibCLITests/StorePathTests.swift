import CalibCLI
import CalibCore
import CalibFormats
import CalibStore
import CalibTestSupport
import Foundation
import Testing

/// Every error about a store names its path, and creating a store is atomic.
@Suite struct StorePathTests {
  static func record(_ store: String, run: String = "r") -> [String] {
    ["record", store, "--run", run, "--recipe", BundledSample.recipe("fp8.yaml"), "--weights", BundledSample.weights, "--quiet"]
      + BundledSample.steps
  }

  @Test func unusableStorePathsAreNamed() async throws {
    let dir = try TemporaryDirectory()
    let cases: [(path: String, message: String)] = [
      (dir.path(""), "\(dir.path("")) is a directory, not a store file"),
      ("/dev/null", "/dev/null is a device, not a store file"),
      (dir.path("missing/s.sqlite"), "cannot create store \(dir.path("missing/s.sqlite")): directory \(dir.path("missing")) does not exist"),
    ]
    for c in cases {
      for arguments in [Self.record(c.path), ["runs", c.path], ["check", c.path]] {
        let r = await calib(arguments)
        #expect(r.exitCode != 0)
        if arguments[0] == "record" || !c.message.hasPrefix("cannot create") {
          #expect(r.stderr.contains(c.message), "\(arguments[0]) \(c.path): \(r.stderr)")
        } else {
          #expect(r.stderr.contains(c.path), "\(arguments[0]) \(c.path): \(r.stderr)")
        }
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
      }
    }
    #expect(!FileManager.default.fileExists(atPath: dir.path("missing")))
  }

  /// Only `record` and `import-qparams` create a store, and only for input they accept;
  /// every other command refuses a path with no store and creates nothing there.
  /// A store reached through a symbolic link (its database moved to a bigger disk, say)
  /// uses the payload file beside its database, as SQLite does its -wal and -shm files:
  /// not a second one beside the link.
  @Test func aStoreReachedThroughALinkKeepsOnePayloadFile() async throws {
    let dir = try TemporaryDirectory()
    let store = try await BoundedInputTests.recordedStore(dir)
    let elsewhere = try TemporaryDirectory()
    let link = elsewhere.path("link.sqlite")
    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: store)
    await calibSucceeds(["runs", link])
    await calibSucceeds(["replay", link, "--from", "w8a8", "--name", "mse", "--observer", "mse", "-q"])
    await calibSucceeds(["record", link, "--run", "fp8", "--recipe", BundledSample.recipe("fp8.yaml"), "--weights", BundledSample.weights, "-q"]
      + BundledSample.steps)
    #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere.url.path) == ["link.sqlite"])
    #expect(try CalibrationStore(path: store).check().isEmpty)
    #expect(try CalibrationStore(path: store, readOnly: true).runs().map(\.name).sorted() == ["fp8", "mse", "w8a8"])
  }

  /// A relative store path that begins with `file:` is a file of that name: SQLite, built
  /// to read such names as URIs, must not be handed it as one (it would open `demo.sqlite`
  /// while calib checks `file:demo.sqlite` and puts the payload file beside that).
  @Test func aStoreNamedLikeAURIIsThatFile() async throws {
    let dir = try TemporaryDirectory()
    let recorded = try runCalibProcess(
      ["record", "file:demo.sqlite", "--run", "a", "--recipe", BundledSample.recipe("fp8.yaml"), "--weights", BundledSample.weights, "-q"]
        + BundledSample.steps, in: dir.url.path)
    #expect(recorded.exitCode == 0, "\(recorded.stderr)")
    let files = try FileManager.default.contentsOfDirectory(atPath: dir.url.path)
    #expect(!files.contains("demo.sqlite") && files.contains("file:demo.sqlite-samples"), "\(files)")
    #expect(try CalibrationStore(path: dir.path("file:demo.sqlite")).check().isEmpty)
    #expect(try CalibrationStore(path: dir.path("file:demo.sqlite"), readOnly: true).runs().map(\.name) == ["a"])
  }

  @Test func commandsThatNeedAStoreDoNotCreateOne() async throws {
    let dir = try TemporaryDirectory()
    let store = dir.path("none.sqlite")
    var bad = SafetensorsWriter()
    bad.append(name: "m.weight_scale", tensor: Tensor(shape: [0, 1], values: []), as: .f32)
    let checkpoint = dir.path("bad.safetensors")
    try bad.write(to: checkpoint)
    let commands: [[String]] = [
      ["replay", store, "--from", "r", "--name", "x", "--observer", "mse"], ["rm", store, "r"], ["gc", store],
      ["runs", store], ["check", store], ["show", store, "r"], ["export", store, "r", dir.path("out.safetensors")],
      ["import-qparams", store, "--run", "x", checkpoint],
    ]
    for arguments in commands {
      let r = await calib(arguments)
      #expect(r.exitCode == 1, "\(arguments[0])")
      let expected = arguments[0] == "import-qparams"
        ? "tensor 'm.weight_scale' is empty" : "\(store) does not exist: give the path of a calibration store"
      #expect(r.stderr.contains(expected), "\(arguments[0]): \(r.stderr)")
      #expect(try FileManager.default.contentsOfDirectory(atPath: dir.url.path).sorted() == ["bad.safetensors"], "\(arguments[0])")
    }
  }

  /// Scales no calibration makes (NaN, ±inf, zero, negative) are imported as they are,
  /// with a warning naming them.
  @Test func implausibleImportedScalesAreNamed() async throws {
    let dir = try TemporaryDirectory()
    var writer = SafetensorsWriter()
    writer.append(name: "m.weight_scale", tensor: Tensor(shape: [2, 1], values: [.nan, 1]), as: .f32)
    writer.append(name: "n.input_scale", tensor: Tensor(shape: [1], values: [0.5]), as: .f32)
    writer.append(name: "n.weight_scale", tensor: Tensor(shape: [1, 1], values: [-1]), as: .f32)
    let checkpoint = dir.path("c.safetensors")
    try writer.write(to: checkpoint)
    let r = await calibSucceeds(["import-qparams", dir.path("s.sqlite"), "--run", "x", checkpoint])
    #expect(r.stderr.hasPrefix(
      "warning: 2 scale tensor(s) hold NaN, infinite, zero or negative values (m.weight_scale, n.weight_scale): imported as they are\n"))
  }

  @Test func aCreationLeftHalfDoneByAnOlderVersionIsANewStore() async throws {
    let dir = try TemporaryDirectory()
    let store = dir.path("s.sqlite")
    // What GRDB's migrator commits before the first migration's transaction.
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
      "python3", "-c",
      "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)'); c.commit()",
      store,
    ]
    try process.run()
    process.waitUntilExit()
    await calibSucceeds(Self.record(store))
    #expect(try CalibrationStore(path: store, readOnly: true).runs().map(\.name) == ["r"])
  }

  @Test func twoRecordingsCreatingTheSameStoreBothSucceed() async throws {
    let dir = try TemporaryDirectory()
    for attempt in 0..<6 {
      let store = dir.path("race-\(attempt).sqlite")
      async let a = Task.detached { try runCalibProcess(Self.record(store, run: "a")) }.value
      async let b = Task.detached { try runCalibProcess(Self.record(store, run: "b")) }.value
      let results = try await [a, b]
      for r in results {
        #expect(!r.stderr.contains("is not a calibration store"), "attempt \(attempt): \(r.stderr)")
        #expect(r.exitCode == 0, "attempt \(attempt): \(r.stderr)")
      }
      #expect(try CalibrationStore(path: store, readOnly: true).runs().map(\.name).sorted() == ["a", "b"])
      let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path("")).filter { $0.contains(".creating-") }
      #expect(leftovers.isEmpty, "\(leftovers)")
    }
  }
}

// MARK: - Export destinations

extension StorePathTests {
  @Test func exportRefusesTheStoresFilesAndNonRegularFiles() async throws {
    let dir = try TemporaryDirectory()
    let store = dir.path("s.sqlite")
    await calibSucceeds(Self.record(store))
    try FileManager.default.createSymbolicLink(atPath: dir.path("link.safetensors"), withDestinationPath: store + "-samples")
    let sameDirectoryOtherSpelling = dir.path("sub/../s.sqlite-wal")
    try FileManager.default.createDirectory(atPath: dir.path("sub"), withIntermediateDirectories: false)
    let before = try Data(contentsOf: URL(fileURLWithPath: store + "-samples"))
    for format in ["table", "json"] {
      for out in [store, store + "-samples", store + "-wal", store + "-shm", dir.path("link.safetensors"), sameDirectoryOtherSpelling] {
        let r = await calib(["export", store, "r", out, "--format", format])
        #expect(r.exitCode == 1)
        #expect(r.stderr == "Error: \(out) is one of the files of store \(store): give the export another file name\n", "\(r.stderr)")
      }
      for (out, kind) in [("/dev/null", "not a regular file"), (dir.path("sub"), "a directory")] {
        let r = await calib(["export", store, "r", out, "--format", format])
        #expect(r.exitCode == 1)
        #expect(r.stderr.contains("\(out) is \(kind)"), "\(r.stderr)")
      }
    }
    #expect(try Data(contentsOf: URL(fileURLWithPath: store + "-samples")) == before)
    #expect(try CalibrationStore(path: store, readOnly: true).check().isEmpty)
  }

  @Test func exportReplacesAFileWholeAndLeavesNoTemporaryFiles() async throws {
    let dir = try TemporaryDirectory()
    let store = dir.path("s.sqlite")
    await calibSucceeds(Self.record(store))
    for (name, format) in [("q.json", "json"), ("q.safetensors", "table")] {
      let out = dir.path(name)
      try "old".write(toFile: out, atomically: true, encoding: .utf8)
      await calibSucceeds(["export", store, "r", out, "--format", format])
      #expect(try Data(contentsOf: URL(fileURLWithPath: out)).count > 3)
    }
    let names = try FileManager.default.contentsOfDirectory(atPath: dir.path(""))
    #expect(!names.contains { $0.contains(".tmp-") }, "\(names)")
  }
}
