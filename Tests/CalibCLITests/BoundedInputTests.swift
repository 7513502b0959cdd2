import CalibCLI
import CalibCore
import CalibStore
import CalibFormats
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

/// Runs the built `calib` as a subprocess (in `directory`, or the current one), with its
/// stdout and stderr; `shell` runs it through `/bin/sh` with that text after it
/// (`> /dev/full`, `>&-`), which then decides where the streams it names go.
func runCalibProcess(_ arguments: [String], shell: String? = nil, in directory: String? = nil, timeout: Double = 120) throws -> CLIResult {
  let process = Process()
  if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
  if let shell {
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", #"exec "$0" "$@" "# + shell, calibExecutable.path] + arguments
  } else {
    process.executableURL = calibExecutable
    process.arguments = arguments
  }
  let dir = try TemporaryDirectory()
  let (outPath, errPath) = (dir.path("stdout"), dir.path("stderr"))
  _ = FileManager.default.createFile(atPath: outPath, contents: nil)
  _ = FileManager.default.createFile(atPath: errPath, contents: nil)
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

// MARK: - Run names

extension BoundedInputTests {
  static let badNames: [(id: String, name: String, reason: String)] = [
    ("empty", "", "it is empty"),
    ("newline", "a\nb", "U+A"),
    ("carriage return", "a\rb", "U+D"),
    ("escape", "x\u{1B}[31m", "U+1B"),
    ("line separator", "a\u{2028}b", "U+2028"),
    ("too long", String(repeating: "n", count: RunName.maxLength + 1), "201 characters long"),
  ]

  @Test(arguments: badNames)
  func everyCommandThatCreatesARunChecksItsName(_ c: (id: String, name: String, reason: String)) async throws {
    let dir = try TemporaryDirectory()
    let store = try await Self.recordedStore(dir)
    let exported = dir.path("q.safetensors")
    await calibSucceeds(["export", store, "w8a8", exported])
    let commands: [[String]] = [
      ["record", store, "--run", c.name, "--recipe", BundledSample.recipe("fp8.yaml"), "--weights", BundledSample.weights] + BundledSample.steps,
      ["replay", store, "--from", "w8a8", "--name", c.name, "--observer", "mse"],
      ["import-qparams", store, "--run", c.name, exported],
    ]
    for arguments in commands {
      let r = await calib(arguments)
      #expect(r.exitCode == 64, "\(arguments[0]): \(r.stderr)")
      #expect(r.stderr.contains("is invalid (") && r.stderr.contains(c.reason) && r.stderr.contains("single-line name"), "\(arguments[0]): \(r.stderr)")
      // One error line, then ArgumentParser's usage for the command (as for any bad option).
      let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false)
      #expect(lines.count == 4 && lines[0].hasPrefix("Error: ") && lines[1].hasPrefix("Usage: calib \(arguments[0])")
                && lines[2].contains("--help") && lines[3].isEmpty, "one error line and the usage: \(r.stderr)")
    }
    #expect(try CalibrationStore(path: store, readOnly: true).runs().map(\.name) == ["w8a8"])
  }

  @Test func sweepNamesAreCheckedBeforeAnyRunIsMade() async throws {
    let dir = try TemporaryDirectory()
    let store = try await Self.recordedStore(dir)
    let long = String(repeating: "p", count: 190)
    let r = await calib(["replay", store, "--from", "w8a8", "--sweep", "weights.num_bits=4,8", "--name-prefix", long])
    #expect(r.exitCode == 1)
    #expect(r.stderr.contains("--name-prefix and --sweep") && r.stderr.contains("characters long (at most 200)"), "\(r.stderr)")
    let control = await calib(["replay", store, "--from", "w8a8", "--sweep", "weights.num_bits=4,8", "--name-prefix", "a\tb"])
    #expect(control.stderr.contains("U+9"), "\(control.stderr)")
    #expect(try CalibrationStore(path: store, readOnly: true).runs().map(\.name) == ["w8a8"])
  }

  @Test func theStoreRefusesABadNameFromAnyPath() throws {
    #expect(throws: StoreError.self) { try RunName.validate("x\n", option: "--run") }
    try RunName.validate(String(repeating: "é", count: 200), option: "--run")
    try RunName.validate("sweep-weights.num_bits=4,weights.strategy=channel", option: "--run")
  }
}

// MARK: - Tolerances

extension BoundedInputTests {
  @Test(arguments: ["-1", "-0.5", "nan", "inf"])
  func negativeOrNonFiniteTolerancesAreRejected(_ value: String) async throws {
    let dir = try TemporaryDirectory()
    let store = try await Self.recordedStore(dir)
    for flag in ["--rtol", "--atol"] {
      let r = await calib(["diff", store, "w8a8", "w8a8", flag, value])
      #expect(r.exitCode == 64, "\(r.stderr)")
      #expect(r.stderr.contains("\(flag) ") && r.stderr.contains("is invalid: give a finite tolerance ≥ 0"), "\(r.stderr)")
    }
    #expect(await calib(["diff", store, "w8a8", "w8a8", "--rtol", "1e-6", "--atol", "0"]).exitCode == 0)
  }
}

// MARK: - Recipe files

extension BoundedInputTests {
  static func record(_ store: String, recipe: String) -> [String] {
    ["record", store, "--run", "r", "--recipe", recipe, "--weights", BundledSample.weights] + BundledSample.steps
  }

  @Test func aRecipeThatIsNotUTF8IsNamedWithTheOffset() async throws {
    let dir = try TemporaryDirectory()
    let path = dir.path("latin1.yaml")
    // "# café" in Latin-1: é is the lone byte 0xE9 at offset 5.
    try Data([0x23, 0x20, 0x63, 0x61, 0x66, 0xE9, 0x0A]).write(to: URL(fileURLWithPath: path))
    for arguments in [Self.record(dir.path("s.sqlite"), recipe: path)] {
      let r = await calib(arguments)
      #expect(r.exitCode == 1)
      #expect(r.stderr == "Error: recipe file \(path) is not UTF-8 text (invalid byte at offset 5): save it as UTF-8\n")
    }
    let store = try await Self.recordedStore(dir)
    let replay = await calib(["replay", store, "--from", "w8a8", "--name", "x", "--recipe", path])
    #expect(replay.stderr.contains("is not UTF-8 text (invalid byte at offset 5)"), "\(replay.stderr)")
  }

  @Test func missingDirectoryAndOversizedRecipesAreNamed() async throws {
    let dir = try TemporaryDirectory()
    let big = dir.path("big.yaml")
    try Data(repeating: 0x20, count: RecipeFile.maxBytes + 1).write(to: URL(fileURLWithPath: big))
    let tooBig = await calib(Self.record(dir.path("s.sqlite"), recipe: big))
    #expect(tooBig.stderr.contains("\(big): recipe is 1048577 bytes, more than the 1048576-byte limit"), "\(tooBig.stderr)")
    let missing = await calib(Self.record(dir.path("s.sqlite"), recipe: dir.path("nope.yaml")))
    #expect(missing.stderr.contains("cannot read recipe file \(dir.path("nope.yaml")) (No such file or directory)"), "\(missing.stderr)")
    let directory = await calib(Self.record(dir.path("s.sqlite"), recipe: dir.path("")))
    #expect(directory.stderr.contains("(not a regular file or a pipe)"), "\(directory.stderr)")
  }

  /// Nine levels of ten aliases each: 10⁹ nodes once expanded.
  static let billionLaughs: String = {
    var text = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for level in 1...9 {
      let refs = Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ")
      text += "a\(level): &a\(level) [\(refs)]\n"
    }
    return text + "config_groups: {g: {targets: [Linear], weights: {num_bits: 8}}}\n"
  }()

  @Test(.timeLimit(.minutes(1)))
  func yamlBombsAreRefusedQuickly() async throws {
    let dir = try TemporaryDirectory()
    let bomb = try HostileInputTests.recipeFile(dir, Self.billionLaughs)
    let keyBomb = try HostileInputTests.recipeFile(dir, Self.billionLaughs.replacingOccurrences(of: "config_groups:", with: "? *a9\n: x\nconfig_groups:"))
    let manyAliases = try HostileInputTests.recipeFile(
      dir, "x: &x 1\nl: [" + Array(repeating: "*x", count: YAMLBudget.maxAliases + 1).joined(separator: ", ") + "]\n")
    for (path, message) in [(bomb, "expands to more than 100000 YAML nodes"), (keyBomb, "expands to more than 100000 YAML nodes"), (manyAliases, "uses more than 1000 aliases")] {
      let start = ContinuousClock.now
      let r = try runCalibProcess(Self.record(dir.path("s.sqlite"), recipe: path), timeout: 30)
      #expect(ContinuousClock.now - start < .seconds(10))
      #expect(r.exitCode == 1, "\(r.stderr.prefix(300))")
      #expect(r.stderr == "Error: \(path): recipe refused: it \(message.hasPrefix("uses") ? "" : "")\(message) (aliases included): write the recipe without deeply nested aliases\n" || r.stderr.contains(message), "\(r.stderr.prefix(300))")
    }
    // A few aliases stay fine.
    let fine = try HostileInputTests.recipeFile(dir, "w: &w {num_bits: 8}\nconfig_groups: {g: {targets: [Linear], weights: *w, input_activations: *w}}\n")
    await calibSucceeds(Self.record(dir.path("ok.sqlite"), recipe: fine))
  }

  @Test func aliasBombsInSetValuesStayStrings() async throws {
    let dir = try TemporaryDirectory()
    let store = try await Self.recordedStore(dir)
    let value = "[" + Self.billionLaughs.split(separator: "\n").prefix(10).map { line in
      String(line.drop { $0 != "&" })
    }.joined(separator: ", ") + "]"
    let r = try runCalibProcess(["replay", store, "--from", "w8a8", "--name", "x", "--set", "weights.block_structure=\(value)"], timeout: 30)
    #expect(r.exitCode == 1 && r.stderr.contains("block_structure"), "\(r.stderr.prefix(300))")
  }
}

// MARK: - import-qparams config.json

extension BoundedInputTests {
  /// A checkpoint with one weight scale and no `calib_args` metadata, beside `config`.
  static func checkpoint(_ dir: TemporaryDirectory, config: String?) throws -> String {
    var writer = SafetensorsWriter()
    writer.append(name: "encoder.layer.0.output.dense.weight_scale", tensor: Tensor(shape: [4, 1], repeating: 0.5))
    let path = dir.path("model.safetensors")
    try writer.write(to: path)
    if let config { try config.write(toFile: dir.path("config.json"), atomically: true, encoding: .utf8) }
    return path
  }

  static let badConfigs: [(id: String, text: String, reason: String)] = [
    ("not JSON", "{\"quantization_config\": ", "not valid JSON"),
    ("nested too deep", "{\"quantization_config\": " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}",
     "nested more than 512 levels deep"),
    ("not an object", "[1, 2]", "not a JSON object"),
    ("config not an object", #"{"quantization_config": 4}"#, "quantization_config is not an object"),
    ("no config groups", #"{"quantization_config": {"format": "pack-quantized"}}"#, "no config_groups object"),
    ("invalid arguments", #"{"quantization_config": {"config_groups": {"g": {"targets": ["Linear"], "weights": {"num_bits": 0}}}}}"#, "num_bits 1 to 32"),
  ]

  @Test(arguments: badConfigs)
  func aMalformedConfigJSONIsAnErrorNamingIt(_ c: (id: String, text: String, reason: String)) async throws {
    let dir = try TemporaryDirectory()
    let file = try Self.checkpoint(dir, config: c.text)
    let store = dir.path("s.sqlite")
    let r = await calib(["import-qparams", store, "--run", "imported", file])
    #expect(r.exitCode == 1)
    #expect(r.stderr.hasPrefix("Error: \(dir.path("config.json")): invalid quantization config ("), "\(r.stderr)")
    #expect(r.stderr.contains(c.reason), "\(r.stderr)")
    #expect(r.stderr.split(separator: "\n").count == 1)
  }

  @Test func aConfigWithoutQuantizationStillImports() async throws {
    let dir = try TemporaryDirectory()
    let file = try Self.checkpoint(dir, config: #"{"model_type": "bert"}"#)
    let r = await calib(["import-qparams", dir.path("s.sqlite"), "--run", "imported", file])
    #expect(r.exitCode == 0, "\(r.stderr)")
  }
}

// MARK: - Sweep size

extension BoundedInputTests {
  @Test func sweepsAreLimitedByMaxRuns() async throws {
    let dir = try TemporaryDirectory()
    let store = try await Self.recordedStore(dir)
    let values = (1...16).map(String.init).joined(separator: ",")
    let huge = Array(repeating: "--sweep", count: 20).enumerated().flatMap { i, flag in [flag, i % 2 == 0 ? "weights.num_bits=\(values)" : "observer_kwargs.grid=\(values)"] }
    let r = await calib(["replay", store, "--from", "w8a8"] + huge)
    #expect(r.exitCode == 64)
    #expect(r.stderr.contains("--sweep makes at least 256 runs, more than --max-runs 64: sweep fewer values, or raise --max-runs"), "\(r.stderr)")
    let three = ["--sweep", "weights.num_bits=4,8", "--sweep", "weights.strategy=channel,tensor"]
    let limited = await calib(["replay", store, "--from", "w8a8", "--max-runs", "3", "-q"] + three)
    #expect(limited.exitCode == 64 && limited.stderr.contains("at least 4 runs, more than --max-runs 3"), "\(limited.stderr)")
    await calibSucceeds(["replay", store, "--from", "w8a8", "--max-runs", "4", "-q"] + three)
    #expect(await calib(["replay", store, "--from", "w8a8", "--max-runs", "0", "--sweep", "num_bits=4"]).exitCode == 64)
  }
}
