import CalibCLI
import CalibCore
import CalibStore
import CalibTestSupport
import Foundation
import Testing

@Suite struct ReplayCommandTests {
  /// A store with the bundled sample recorded as run "w8a8".
  /// A store with the bundled sample recorded as run "w8a8"; the directory lives as long
  /// as the value.
  final class Recorded: Sendable {
    let dir: TemporaryDirectory
    let store: String

    init() async throws {
      dir = try TemporaryDirectory()
      store = dir.path("s.sqlite")
      let r = await calib(["record", store, "--run", "w8a8", "--recipe", BundledSample.recipe("w8a8-static.yaml"), "--weights", BundledSample.weights] + BundledSample.steps)
      #expect(r.exitCode == 0)
    }
  }

  private func args(_ store: String, _ run: String, module: String, base: String) async throws -> [String: Any] {
    let show = await calib(["show", store, run, "--module", module, "--base-name", base, "--format", "json"])
    let list = try #require(try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [[String: Any]])
    return try #require(list.first?["args"] as? [String: Any])
  }

  @Test func overridesChangeOnlyWhatTheyName() async throws {
    let recorded = try await Recorded()
    let store = recorded.store
    let r = await calib([
      "replay", store, "--from", "w8a8", "--name", "w4", "--set", "weights.num_bits=4", "--set", "weights.strategy=group",
      "--set", "weights.group_size=128", "--set", "input_activations.observer=minmax",
      "--kwarg", "input_activations.averaging_constant=0.5", "--format", "json",
    ])
    #expect(r.exitCode == 0, "\(r.stderr)")
    let w = try await args(store, "w4", module: "encoder.layer.0.intermediate.dense", base: "weight")
    #expect(w["num_bits"] as? Int == 4 && w["strategy"] as? String == "group" && w["group_size"] as? Int == 128)
    let i = try await args(store, "w4", module: "encoder.layer.0.intermediate.dense", base: "input")
    #expect((i["observer_kwargs"] as? [String: Any])?["averaging_constant"] as? Double == 0.5)
    #expect(i["num_bits"] as? Int == 8)
    let runs = try CalibrationStore(path: store, readOnly: true).runs()
    let w4 = try #require(runs.first { $0.name == "w4" })
    #expect(w4.parent == "w8a8" && w4.kind == .replayed && w4.recording == "w8a8")
    let diff = try #require(try JSONSerialization.jsonObject(with: Data((w4.settingsDiff ?? "[]").utf8)) as? [String])
    #expect(diff.contains("linears.weights.num_bits: 8 -> 4"))
    #expect(diff.contains("linears.input_activations.observer_kwargs.averaging_constant: null -> 0.5"))
    #expect(diff.contains("attention.input_activations.observer: \"static_minmax\" -> \"minmax\""))
    #expect(!diff.contains { $0.hasPrefix("linears.input_activations.observer:") }, "unchanged fields are not listed")
    #expect(try CalibrationStore(path: store, readOnly: true).samples(ofRecording: "w4").count > 0, "replays read the recording's samples")
  }

  @Test func sweepNamesEveryCombination() async throws {
    let recorded = try await Recorded()
    let store = recorded.store
    let r = await calib(["replay", store, "--from", "w8a8", "--sweep", "weights.num_bits=4,8", "--sweep", "observer=static_minmax,minmax", "--name-prefix", "s:"])
    #expect(r.exitCode == 0, "\(r.stderr)")
    let names = Set(try CalibrationStore(path: store, readOnly: true).runs().map(\.name))
    #expect(names.isSuperset(of: [
      "s:weights.num_bits=4,observer=static_minmax", "s:weights.num_bits=4,observer=minmax",
      "s:weights.num_bits=8,observer=static_minmax", "s:weights.num_bits=8,observer=minmax",
    ]))
    // A sweep variant equals the same settings replayed alone.
    await calibSucceeds(["replay", store, "--from", "w8a8", "--name", "alone", "--set", "weights.num_bits=4", "--observer", "minmax"])
    let s = try CalibrationStore(path: store, readOnly: true)
    #expect(try s.finalQParams(ofRun: "alone") == s.finalQParams(ofRun: "s:weights.num_bits=4,observer=minmax"))
  }

  @Test func filtersRestrictTheNewRun() async throws {
    let recorded = try await Recorded()
    let store = recorded.store
    let r = await calib(["replay", store, "--from", "w8a8", "--name", "q", "--module", "*.query", "--base-name", "input", "--observer", "static_minmax"])
    #expect(r.exitCode == 0, "\(r.stderr)")
    let finals = try CalibrationStore(path: store, readOnly: true).finalQParams(ofRun: "q")
    #expect(finals.map { "\($0.module)/\($0.baseName)" } == ["encoder.layer.0.attention.self.query/input"])
  }

  struct Invalid: Sendable, CustomTestStringConvertible {
    let arguments: [String]
    let message: String
    var testDescription: String { arguments.joined(separator: " ") }
  }

  static let invalid: [Invalid] = [
    Invalid(arguments: ["--name", "x", "--sweep", "num_bits=4"], message: "--name and --sweep cannot be combined"),
    Invalid(arguments: [], message: "give --name for one run, or --sweep"),
    Invalid(arguments: ["--name", "x", "--set", "bits=4"], message: "unknown field 'bits'"),
    Invalid(arguments: ["--name", "x", "--set", "num_bits"], message: "expected FIELD=VALUE"),
    Invalid(arguments: ["--name", "x", "--set", "weights.strategy=token"], message: "strategy 'token' cannot be static"),
    Invalid(arguments: ["--name", "x", "--set", "weights.strategy=group"], message: "needs a positive group_size"),
    Invalid(arguments: ["--name", "x", "--set", "output_activations.num_bits=4"], message: "applies to no section"),
    Invalid(arguments: ["--name", "x", "--observer", "magic"], message: "unknown observer 'magic'"),
    Invalid(arguments: ["--name", "x", "--kwarg", "maxshrink=0.5"], message: "takes no keyword arguments: remove 'maxshrink'"),
    Invalid(arguments: ["--name", "x", "--module", "nothing*"], message: "select nothing"),
    Invalid(arguments: ["--name", "w8a8"], message: "already exists"),
  ]

  @Test(arguments: invalid)
  func invalidReplaysWriteNothing(_ c: Invalid) async throws {
    let recorded = try await Recorded()
    let store = recorded.store
    let r = await calib(["replay", store, "--from", "w8a8"] + c.arguments)
    #expect(r.exitCode != 0)
    #expect(r.stderr.contains(c.message), "stderr: \(r.stderr)")
    #expect(try CalibrationStore(path: store, readOnly: true).runs().map(\.name) == ["w8a8"])
  }

  @Test func replayNeedingMissingSamplesFailsBeforeWriting() async throws {
    let fixture = try ConformanceFixture.load()
    let dir = try TemporaryDirectory()
    let store = dir.path("s.sqlite")
    let steps = fixture.stepFiles
    let weightsOnly = try HostileInputTests.recipeFile(dir, "config_groups: {g: {targets: ['re:encoder\\.layer\\.0\\.attention\\.self\\.query$'], weights: {num_bits: 8, strategy: channel}}}")
    let rec = await calib(["record", store, "--run", "w", "--recipe", weightsOnly, "--weights", fixture.weightsFile] + steps)
    #expect(rec.exitCode == 0, "\(rec.stderr)")
    let outputs = try HostileInputTests.recipeFile(dir, "config_groups: {g: {targets: ['re:encoder\\.layer\\.0\\.attention\\.self\\.query$'], output_activations: {num_bits: 8}}}")
    let r = await calib(["replay", store, "--from", "w", "--name", "out", "--recipe", outputs])
    #expect(r.exitCode == 1)
    #expect(r.stderr.contains("no 'encoder.layer.0.attention.self.query.output' samples were recorded"), "\(r.stderr)")
    #expect(try CalibrationStore(path: store, readOnly: true).runs().map(\.name) == ["w"])
  }

  @Test func killedReplayIsNeverCompleteAndRetrySucceeds() async throws {
    let dir = try TemporaryDirectory()
    let input = try SyntheticRecording(in: dir, steps: 8, modules: 6, tokens: 64, hidden: 256)
    let store = dir.path("s.sqlite")
    let rec = await calib(["record", store, "--run", "r", "--recipe", input.recipeFile, "--weights", input.weightsFile] + input.stepFiles)
    #expect(rec.exitCode == 0)
    let replay = ["replay", store, "--from", "r", "--name", "mse", "--observer", "mse", "--quiet"]
    var killedOnce = false
    for delay in [0.3, 0.6, 1.0, 1.5, 2.5] where !killedOnce {
      let process = Process()
      process.executableURL = calibExecutable
      process.arguments = replay
      process.standardError = FileHandle.nullDevice
      process.standardOutput = FileHandle.nullDevice
      try process.run()
      let deadline = Date().addingTimeInterval(delay)
      while process.isRunning && Date() < deadline { usleep(2000) }
      if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let s = try CalibrationStore(path: store, readOnly: true)
        if let run = try s.runs().first(where: { $0.name == "mse" }) {
          #expect(run.status != .complete, "a killed replay shows as complete")
          killedOnce = true
        }
        #expect(try s.check().isEmpty)
      } else {
        process.waitUntilExit()
        _ = await calib(["rm", store, "mse"])
      }
    }
    #expect(killedOnce, "no kill landed during the replay")
    let retry = await calib(replay)
    #expect(retry.exitCode == 0, "\(retry.stderr)")
    await calibSucceeds(["replay", store, "--from", "r", "--name", "clean", "--observer", "mse", "--quiet"])
    let s = try CalibrationStore(path: store, readOnly: true)
    #expect(try s.finalQParams(ofRun: "mse") == s.finalQParams(ofRun: "clean"))
    #expect(try s.run(named: "mse").status == .complete)
  }
}
