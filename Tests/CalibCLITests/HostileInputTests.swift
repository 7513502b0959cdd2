import CalibCLI
import CalibCore
import CalibFormats
import CalibStore
import CalibTestSupport
import Foundation
import Testing

/// Bad input gets one clear error line and leaves the store exactly as it was.
@Suite struct HostileInputTests {
  struct Case: Sendable, CustomTestStringConvertible {
    let id: String
    /// Builds the bad input in the directory and returns the `calib` arguments.
    let arguments: @Sendable (TemporaryDirectory, String) throws -> [String]
    let message: String
    var testDescription: String { id }
  }

  static func recipeFile(_ dir: TemporaryDirectory, _ text: String) throws -> String {
    let path = dir.path("recipe-\(UUID().uuidString).yaml")
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  static func record(_ store: String, recipe: String, steps: [String] = BundledSample.steps) -> [String] {
    ["record", store, "--run", "bad", "--recipe", recipe, "--weights", BundledSample.weights] + steps
  }

  static let cases: [Case] = [
    Case(id: "truncated step file", arguments: { dir, store in
      let data = try Data(contentsOf: URL(fileURLWithPath: BundledSample.steps[0]))
      let path = dir.path("truncated.safetensors")
      try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path))
      return record(store, recipe: BundledSample.recipe("w8a8-static.yaml"), steps: [path])
    }, message: "truncated.safetensors"),
    Case(id: "a named pipe as a step file", arguments: { dir, store in
      let path = dir.path("steps.fifo")
      #expect(mkfifo(path, 0o600) == 0)
      return record(store, recipe: BundledSample.recipe("w8a8-static.yaml"), steps: [path])
    }, message: "steps.fifo is a pipe, not a regular file"),
    Case(id: "a device as a step file", arguments: { _, store in
      record(store, recipe: BundledSample.recipe("w8a8-static.yaml"), steps: ["/dev/zero"])
    }, message: "/dev/zero is a device, not a regular file"),
    Case(id: "corrupt header", arguments: { dir, store in
      var data = try Data(contentsOf: URL(fileURLWithPath: BundledSample.steps[0]))
      data.replaceSubrange(8..<20, with: Data("not json !!".utf8) + Data([0]))
      let path = dir.path("corrupt.safetensors")
      try data.write(to: URL(fileURLWithPath: path))
      return record(store, recipe: BundledSample.recipe("w8a8-static.yaml"), steps: [path])
    }, message: "corrupt.safetensors"),
    Case(id: "group size that does not divide", arguments: { dir, store in
      record(store, recipe: try recipeFile(dir, "config_groups: {g: {targets: [Linear], weights: {num_bits: 4, strategy: group, group_size: 100}}}"))
    }, message: "group_size 100 does not divide"),
    Case(id: "unknown observer", arguments: { dir, store in
      record(store, recipe: try recipeFile(dir, "config_groups: {g: {targets: [Linear], weights: {num_bits: 4, observer: magic}}}"))
    }, message: "unknown observer 'magic'"),
    Case(id: "unknown observer kwarg", arguments: { dir, store in
      record(store, recipe: try recipeFile(dir, "config_groups: {g: {targets: [Linear], input_activations: {num_bits: 8, observer: minmax, observer_kwargs: {averaging: 0.1}}}}"))
    }, message: "takes no keyword argument 'averaging'"),
    Case(id: "invalid YAML", arguments: { dir, store in
      record(store, recipe: try recipeFile(dir, "config_groups: {g: [unclosed"))
    }, message: "not a readable YAML/JSON recipe"),
    Case(id: "static token strategy", arguments: { dir, store in
      record(store, recipe: try recipeFile(dir, "config_groups: {g: {targets: [Linear], input_activations: {num_bits: 8, strategy: token}}}"))
    }, message: "strategy 'token' cannot be static"),
    Case(id: "target matches nothing", arguments: { dir, store in
      record(store, recipe: try recipeFile(dir, "config_groups: {g: {targets: [Conv2d], weights: {num_bits: 8}}}"))
    }, message: "target 'Conv2d' of group 'g' matches no recorded module"),
    Case(id: "module in two groups", arguments: { dir, store in
      record(store, recipe: try recipeFile(dir, "config_groups: {a: {targets: [Linear], weights: {num_bits: 8}}, b: {targets: ['re:.*query$'], weights: {num_bits: 4}}}"))
    }, message: "is matched by groups a and b"),
    Case(id: "unknown preset", arguments: { dir, store in
      record(store, recipe: try recipeFile(dir, "QuantizationModifier: {targets: [Linear], scheme: W3A3X}"))
    }, message: "unknown preset scheme 'W3A3X'"),
    Case(id: "num_bits 1e300", arguments: { dir, store in
      record(store, recipe: try recipeFile(dir, "config_groups: {g: {targets: [Linear], weights: {num_bits: 1e300}}}"))
    }, message: "num_bits"),
    Case(id: "observer kwarg .nan", arguments: { dir, store in
      record(store, recipe: try recipeFile(dir, "config_groups: {g: {targets: [Linear], weights: {num_bits: 4, observer: mse, observer_kwargs: {grid: .nan}}}}"))
    }, message: "config group 'g': weights.observer_kwargs.grid is not a finite number"),
    Case(id: "num_bits null", arguments: { dir, store in
      record(store, recipe: try recipeFile(dir, "config_groups: {g: {targets: [Linear], weights: {num_bits: null}}}"))
    }, message: "num_bits null is invalid"),
    Case(id: "ignore holding a number", arguments: { dir, store in
      record(store, recipe: try recipeFile(dir, "QuantizationModifier: {targets: [Linear], scheme: W8A8, ignore: [lm_head, 1e300]}"))
    }, message: "ignore is not a list of names"),
    Case(id: "targets a number", arguments: { dir, store in
      record(store, recipe: try recipeFile(dir, "config_groups: {g: {targets: 1e300, weights: {num_bits: 8}}}"))
    }, message: "targets (not a list of names) is invalid"),
    Case(id: "missing weights", arguments: { dir, store in
      ["record", store, "--run", "bad", "--recipe", BundledSample.recipe("w4a16.yaml")] + BundledSample.steps
    }, message: "no --weights file holds"),
  ]

  @Test(arguments: cases)
  func recordingBadInputLeavesTheStoreUnchanged(_ c: Case) async throws {
    let dir = try TemporaryDirectory()
    let store = dir.path("s.sqlite")
    let ok = await calib(["record", store, "--run", "good", "--recipe", BundledSample.recipe("fp8.yaml"), "--weights", BundledSample.weights] + BundledSample.steps)
    #expect(ok.exitCode == 0)
    let before = try snapshot(store)
    let r = await calib(try c.arguments(dir, store))
    #expect(r.exitCode != 0)
    #expect(r.stderr.contains(c.message), "stderr: \(r.stderr)")
    #expect(r.stderr.split(separator: "\n").count == 1, "one line: \(r.stderr)")
    #expect(try snapshot(store) == before, "the store changed")
  }

  @Test(arguments: cases)
  func recordingBadInputCreatesNoStore(_ c: Case) async throws {
    let dir = try TemporaryDirectory()
    let store = dir.path("new.sqlite")
    let r = await calib(try c.arguments(dir, store))
    #expect(r.exitCode != 0)
    #expect(r.stderr.contains(c.message), "stderr: \(r.stderr)")
    let left = try FileManager.default.contentsOfDirectory(atPath: dir.url.path).filter { $0.hasPrefix("new.sqlite") }
    #expect(left.isEmpty, "left behind: \(left)")
  }

  /// Module names come from safetensors keys, which may hold any character: a table row
  /// stays one line (control characters and line separators escaped), and CSV quotes a
  /// field with a carriage return as it does one with a newline.
  @Test func controlCharactersInModuleNamesStayOnOneRow() async throws {
    let dir = try TemporaryDirectory()
    let store = dir.path("s.sqlite")
    let names = ["layers.0\nfake.row", "layers.1\rx", "layers.2\u{2028}y"]
    var step = SafetensorsWriter()
    for n in names { step.append(name: n + ".input", tensor: Tensor(shape: [1, 4, 8], repeating: 1), as: .f32) }
    try step.write(to: dir.path("step.safetensors"))
    let recipe = try Self.recipeFile(dir, "config_groups: {g: {targets: [Linear], input_activations: {num_bits: 8}}}")
    await calibSucceeds(["record", store, "--run", "a", "--recipe", recipe, "-q", dir.path("step.safetensors")])
    let table = await calibSucceeds(["show", store, "a"])
    #expect(table.stdout.unicodeScalars.filter { $0 == "\n" }.count == names.count + 1, "\(table.stdout)")
    for shown in [#"layers.0\nfake.row"#, #"layers.1\rx"#, #"layers.2\u{2028}y"#] {
      #expect(table.stdout.contains(shown), "\(table.stdout)")
    }
    let csv = await calibSucceeds(["show", store, "a", "--format", "csv"])
    #expect(csv.stdout.contains("\"layers.1\rx\""), "\(csv.stdout)")
  }

  /// An error or a note that quotes a path or a module name holding a newline stays one
  /// line on stderr, the newline shown as `\n`: a script reading stderr line by line sees
  /// one message as one line.
  @Test func messagesQuotingNamesWithNewlinesStayOneLine() async throws {
    let dir = try TemporaryDirectory()
    func oneLine(_ r: CLIResult, showing shown: String, sourceLocation: SourceLocation = #_sourceLocation) {
      #expect(r.stderr.hasSuffix("\n") && r.stderr.dropLast().split(separator: "\n").count == 1,
              "one line: \(r.stderr)", sourceLocation: sourceLocation)
      #expect(r.stderr.contains(shown), "stderr: \(r.stderr)", sourceLocation: sourceLocation)
    }
    // An error naming a missing store's path.
    let missing = await calib(["runs", dir.path("no\nstore.sqlite")])
    #expect(missing.exitCode != 0)
    oneLine(missing, showing: #"no\nstore.sqlite"#)

    // Notes naming a store's path.
    let store = dir.path("s\u{2028}x.sqlite")
    let recorded = await calibSucceeds(["record", store, "--run", "a", "--recipe", BundledSample.recipe("fp8.yaml"), "-q",
                                         "--weights", BundledSample.weights] + BundledSample.steps)
    oneLine(recorded, showing: "Recorded run a")
    oneLine(await calibSucceeds(["check", store]), showing: #"s\u{2028}x.sqlite: ok"#)

    // An error naming a module from a step file's key.
    var step = SafetensorsWriter()
    step.append(name: "layers.0\nfake.input", tensor: Tensor(shape: [1, 2, 8], values: [Float](repeating: .nan, count: 16)), as: .f32)
    try step.write(to: dir.path("nan.safetensors"))
    let recipe = try Self.recipeFile(dir, "config_groups: {g: {targets: [Linear], input_activations: {num_bits: 8}}}")
    let refused = await calib(["record", dir.path("t.sqlite"), "--run", "b", "--recipe", recipe, "-q", dir.path("nan.safetensors")])
    #expect(refused.exitCode != 0)
    oneLine(refused, showing: #"layers.0\nfake"#)
  }

  /// A recipe may come through a pipe (`--recipe <(yq … recipe.yaml)`), within the same
  /// 1 MiB limit as a file.
  @Test func aRecipeFromAPipeIsRead() async throws {
    let dir = try TemporaryDirectory()
    let fifo = dir.path("recipe.fifo")
    #expect(mkfifo(fifo, 0o600) == 0)
    let text = try String(contentsOfFile: BundledSample.recipe("w8a8-static.yaml"), encoding: .utf8)
    let writer = Thread {
      // Opening blocks until calib opens the pipe for reading.
      if let handle = FileHandle(forWritingAtPath: fifo) {
        handle.write(Data(text.utf8))
        try? handle.close()
      }
    }
    writer.start()
    await calibSucceeds(["record", dir.path("s.sqlite"), "--run", "a", "--recipe", fifo, "--weights", BundledSample.weights, "-q"]
      + BundledSample.steps)
  }

  /// `--weights` takes a sharded Hugging Face checkpoint as it is saved: its
  /// `model.safetensors.index.json`, or the model directory. The parameters equal those
  /// recorded from one weights file; a weight two files both hold is refused, naming both.
  @Test func weightsFromAShardedCheckpoint() async throws {
    let dir = try TemporaryDirectory()
    let model = dir.path("model")
    try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
    let whole = try SafetensorsFile(path: BundledSample.weights)
    var shards = [SafetensorsWriter(), SafetensorsWriter()]
    var map: [String: String] = [:]
    for (i, entry) in whole.entries.enumerated() {
      shards[i % 2].append(RawTensor(name: entry.name, dtype: entry.dtype, shape: entry.shape, bytes: try whole.rawBytes(of: entry.name)))
      map[entry.name] = "model-0000\(i % 2 + 1)-of-00002.safetensors"
    }
    for (i, shard) in shards.enumerated() { try shard.write(to: model + "/model-0000\(i + 1)-of-00002.safetensors") }
    let index = try JSONSerialization.data(withJSONObject: ["metadata": [:], "weight_map": map])
    try index.write(to: URL(fileURLWithPath: model + "/model.safetensors.index.json"))

    let store = dir.path("s.sqlite")
    func record(_ name: String, weights: [String]) async -> CLIResult {
      await calib(["record", store, "--run", name, "--recipe", BundledSample.recipe("w8a8-static.yaml"), "-q"]
        + weights.flatMap { ["--weights", $0] } + BundledSample.steps)
    }
    #expect(await record("whole", weights: [BundledSample.weights]).exitCode == 0)
    #expect(await record("index", weights: [model + "/model.safetensors.index.json"]).exitCode == 0)
    #expect(await record("directory", weights: [model]).exitCode == 0)
    let s = try CalibrationStore(path: store, readOnly: true)
    let expected = try s.finalQParams(ofRun: "whole").map(\.parameters)
    #expect(try s.finalQParams(ofRun: "index").map(\.parameters) == expected)
    #expect(try s.finalQParams(ofRun: "directory").map(\.parameters) == expected)

    let twice = await record("twice", weights: [BundledSample.weights, model])
    #expect(twice.exitCode == 1 && twice.stderr.contains("is in two weight files") && twice.stderr.contains("model-0000"), "\(twice.stderr)")
    let empty = dir.path("empty")
    try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
    let none = await record("none", weights: [empty])
    #expect(none.exitCode == 1 && none.stderr.contains("without model.safetensors or model.safetensors.index.json"), "\(none.stderr)")
  }

  @Test func foreignFilesAreRefusedAndUntouched() async throws {
    let dir = try TemporaryDirectory()
    let text = dir.path("notes.txt")
    try "hello".write(toFile: text, atomically: true, encoding: .utf8)
    let foreign = dir.path("other.sqlite")
    try makeForeignDatabase(foreign)
    for path in [text, foreign] {
      let before = try Data(contentsOf: URL(fileURLWithPath: path))
      let r = await calib(["record", path, "--run", "x", "--recipe", BundledSample.recipe("fp8.yaml"), "--weights", BundledSample.weights] + BundledSample.steps)
      #expect(r.exitCode == 1)
      #expect(r.stderr.contains("is not a calibration store"))
      #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
      #expect(await calib(["runs", path]).stderr.contains("is not a calibration store"))
    }
  }

  @Test func aStoreWithoutItsPayloadFileIsOneClearLine() async throws {
    let dir = try TemporaryDirectory()
    let store = dir.path("s.sqlite")
    await calibSucceeds(["record", store, "--run", "good", "--recipe", BundledSample.recipe("fp8.yaml"), "--weights", BundledSample.weights] + BundledSample.steps)
    try FileManager.default.moveItem(atPath: store + "-samples", toPath: dir.path("elsewhere"))
    for arguments in [["runs", store], ["check", store], ["replay", store, "--from", "good", "--name", "x", "--observer", "mse"]] {
      let r = await calib(arguments)
      #expect(r.exitCode != 0)
      #expect(r.stderr == "Error: \(store)-samples is missing: it holds the sample data of \(store); keep (or copy) the two files together\n")
    }
    #expect(!FileManager.default.fileExists(atPath: store + "-samples"), "nothing recreated it")
  }

  @Test func readOnlyStoreIsRefusedForWriting() async throws {
    let dir = try TemporaryDirectory()
    let store = dir.path("s.sqlite")
    await calibSucceeds(["record", store, "--run", "good", "--recipe", BundledSample.recipe("fp8.yaml"), "--weights", BundledSample.weights] + BundledSample.steps)
    _ = try CalibrationStore(path: store).runs()  // checkpoint and close
    try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: store)
    defer { try? FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: store) }
    let r = await calib(["record", store, "--run", "x", "--recipe", BundledSample.recipe("fp8.yaml"), "--weights", BundledSample.weights] + BundledSample.steps)
    #expect(r.exitCode == 1)
    #expect(r.stderr.contains("is read-only"), "\(r.stderr)")
    #expect(await calib(["runs", store]).exitCode == 0, "reading a read-only store works")
  }

  /// Runs, states, parameters and samples of a store, for before/after comparison.
  private func snapshot(_ path: String) throws -> String {
    let s = try CalibrationStore(path: path, readOnly: true)
    var text = ""
    for run in try s.runs() {
      text += "\(run.name) \(run.status) \(run.steps)\n"
      text += "\(try s.stepStates(ofRun: run.name).count) \(try s.finalQParams(ofRun: run.name).count)\n"
      text += try s.samples(ofRecording: run.name).map(\.checksum).joined(separator: ",") + "\n"
    }
    // The payload file too: a refused input must not append to it either.
    let segment = (try? Data(contentsOf: URL(fileURLWithPath: path + "-samples"))) ?? Data()
    return text + "segment \(segment.count) \(segment.withUnsafeBytes { XXHash64.hex($0) })\n"
  }

  private func makeForeignDatabase(_ path: String) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('CREATE TABLE t (x)'); c.commit()", path]
    try process.run()
    process.waitUntilExit()
  }
}
