import CalibFormats
import CalibStore
import CalibTestSupport
import Foundation
import Testing

/// `manifest.json` of a calib_oneshot.py recording: decoding, validation, resolved paths.
@Suite struct RecordingManifestTests {
  /// A recording directory with empty placeholder files (the manifest reader never opens
  /// step or weight files).
  struct Recording {
    let dir: TemporaryDirectory

    init(files: [String] = Self.defaultFiles, manifest: String) throws {
      dir = try TemporaryDirectory()
      for name in files {
        let path = dir.path(name)
        try FileManager.default.createDirectory(
          atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let contents = name.hasSuffix(".yaml") ? Data(Self.recipe.utf8) : Data()
        #expect(FileManager.default.createFile(atPath: path, contents: contents))
      }
      try manifest.write(toFile: dir.path("manifest.json"), atomically: true, encoding: .utf8)
    }

    static let defaultFiles = [
      "recipe.yaml", "weights.safetensors", "step-0000-layer-000.safetensors",
      "step-0000-layer-001.safetensors", "step-0001-layer-000.safetensors",
      "step-0001-layer-001.safetensors",
    ]
    static let recipe =
      "quant_stage:\n  quant_modifiers:\n    QuantizationModifier:\n      scheme: NVFP4\n"

    func load() throws -> RecordingManifest { try RecordingManifest.load(directory: dir.url.path) }
    var manifestPath: String {
      dir.url.standardizedFileURL.appendingPathComponent("manifest.json").path
    }
  }

  static let valid = """
    {"format": "calib-recording", "version": 1, "producer": "calib_oneshot.py",
     "pipeline": "sequential", "model_dtype": "bfloat16", "recipe": "recipe.yaml",
     "weights": ["weights.safetensors"],
     "steps": [{"step": 1, "files": ["step-0001-layer-000.safetensors", "step-0001-layer-001.safetensors"],
                "samples": [7]},
               {"step": 0, "files": ["step-0000-layer-000.safetensors", "./step-0000-layer-001.safetensors"],
                "samples": [5]}],
     "module_types": {"model.layers.0.self_attn.q_proj": "Linear"},
     "sample_order": [5, 7], "batch_size": 1,
     "uncalibrated": {"model.layers.0.mlp.experts.6.w1": ["input"]},
     "versions": {"llmcompressor": "0.10.0"},
     "future_field": {"ignored": true}}
    """

  /// `valid` with one textual replacement.
  static func manifest(_ old: String, _ new: String) -> String {
    precondition(valid.contains(old), "fixture text \(old) not found")
    return valid.replacingOccurrences(of: old, with: new)
  }
}

// MARK: - Decoding and resolved paths

extension RecordingManifestTests {
  @Test func decodesEveryFieldAndResolvesPaths() throws {
    let r = try Recording(manifest: Self.valid)
    let m = try r.load()
    let root = r.dir.url.standardizedFileURL.path
    #expect(m.format == "calib-recording")
    #expect(m.version == 1)
    #expect(m.producer == "calib_oneshot.py")
    #expect(m.pipeline == "sequential")
    #expect(m.modelDType == "bfloat16")
    #expect(m.recipe == "recipe.yaml")
    #expect(m.moduleTypes == ["model.layers.0.self_attn.q_proj": "Linear"])
    #expect(m.sampleOrder == [5, 7])
    #expect(m.batchSize == 1)
    #expect(m.uncalibrated == ["model.layers.0.mlp.experts.6.w1": ["input"]])
    #expect(m.versions == ["llmcompressor": "0.10.0"])
    #expect(m.steps.map(\.step) == [1, 0])
    #expect(m.steps[0].samples == [7])
    #expect(m.directory == root)
    #expect(m.weightFiles == [root + "/weights.safetensors"])
    // Flattened in step order, each step's files in manifest order, "./" standardized away.
    #expect(
      m.stepFiles
        == [
          "step-0000-layer-000", "step-0000-layer-001", "step-0001-layer-000",
          "step-0001-layer-001",
        ].map { root + "/" + $0 + ".safetensors" })
    #expect(m.recipeText == Recording.recipe)
  }

  @Test func weightsOnlyRecordingWithoutOptionalFields() throws {
    let r = try Recording(
      files: ["weights-0.safetensors", "weights-1.safetensors"],
      manifest: """
        {"format": "calib-recording", "version": 1,
         "weights": ["weights-0.safetensors", "weights-1.safetensors"], "steps": []}
        """)
    let m = try r.load()
    #expect(m.steps.isEmpty)
    #expect(m.stepFiles.isEmpty)
    #expect(m.weightFiles.count == 2)
    #expect(m.recipe == nil && m.recipeText == nil)
    #expect(m.producer == nil && m.sampleOrder == nil && m.batchSize == nil)
    #expect(m.moduleTypes.isEmpty && m.uncalibrated.isEmpty)
  }

  @Test func filesInSubdirectoriesAreAllowed() throws {
    let r = try Recording(
      files: ["w/weights.safetensors", "steps/a.safetensors"],
      manifest: """
        {"format": "calib-recording", "version": 1, "weights": ["w/../w/weights.safetensors"],
         "steps": [{"step": 0, "files": ["steps/a.safetensors"]}]}
        """)
    let m = try r.load()
    #expect(m.weightFiles == [m.directory + "/w/weights.safetensors"])
    #expect(m.stepFiles == [m.directory + "/steps/a.safetensors"])
  }

  @Test func relativeDirectoryIsMadeAbsolute() throws {
    let r = try Recording(manifest: Self.valid)
    // A path relative to the working directory (not changed: tests run in parallel).
    let depth =
      URL(fileURLWithPath: FileManager.default.currentDirectoryPath).standardizedFileURL
      .pathComponents.count - 1
    let relative = String(repeating: "../", count: depth) + r.dir.url.path.dropFirst()
    let m = try RecordingManifest.load(directory: relative)
    #expect(m.directory == r.dir.url.standardizedFileURL.path)
    #expect(m.weightFiles.allSatisfy { FileManager.default.fileExists(atPath: $0) })
  }
}

// MARK: - Validation errors

extension RecordingManifestTests {
  struct ErrorCase: Sendable, CustomTestStringConvertible {
    let id: String
    let manifest: String
    /// The expected error, given the manifest's absolute path.
    let expected: @Sendable (String) -> RecordingManifestError
    var testDescription: String { id }
  }

  static let errorCases: [ErrorCase] = [
    ErrorCase(id: "wrong format", manifest: manifest("\"calib-recording\"", "\"other\"")) {
      .unsupportedFormat(file: $0, found: "other")
    },
    ErrorCase(id: "newer version", manifest: manifest("\"version\": 1", "\"version\": 2")) {
      .unsupportedVersion(file: $0, found: 2, supported: 1)
    },
    ErrorCase(
      id: "missing weights", manifest: manifest("\"weights\": [\"weights.safetensors\"],", "")
    ) {
      .unreadable(file: $0, field: "weights", reason: "missing")
    },
    ErrorCase(id: "step is a string", manifest: manifest("\"step\": 1,", "\"step\": \"1\",")) {
      .unreadable(file: $0, field: "steps[0].step", reason: "expected an integer")
    },
    ErrorCase(
      id: "file is a number", manifest: manifest("\"./step-0000-layer-001.safetensors\"", "3")
    ) {
      .unreadable(file: $0, field: "steps[1].files[1]", reason: "expected a string")
    },
    ErrorCase(id: "not JSON", manifest: "{\"format\": ") {
      .unreadable(file: $0, field: "(root)", reason: "not valid JSON")
    },
    ErrorCase(
      id: "absolute path", manifest: manifest("[\"weights.safetensors\"]", "[\"/etc/passwd\"]")
    ) {
      .pathOutsideDirectory(file: $0, field: "weights[0]", path: "/etc/passwd")
    },
    ErrorCase(
      id: "climbs out", manifest: manifest("\"recipe.yaml\"", "\"../x/../recipe.yaml\"")
    ) { .pathOutsideDirectory(file: $0, field: "recipe", path: "../x/../recipe.yaml") },
    ErrorCase(id: "empty path", manifest: manifest("[\"weights.safetensors\"]", "[\"\"]")) {
      .pathOutsideDirectory(file: $0, field: "weights[0]", path: "")
    },
    ErrorCase(
      id: "missing file",
      manifest: manifest(
        "\"step-0001-layer-001.safetensors\"", "\"step-0001-layer-002.safetensors\"")
    ) {
      .missingFile(file: $0, field: "steps[0].files[1]", path: "step-0001-layer-002.safetensors")
    },
    ErrorCase(id: "directory as file", manifest: manifest("[\"weights.safetensors\"]", "[\".\"]")) {
      .missingFile(file: $0, field: "weights[0]", path: ".")
    },
    ErrorCase(
      id: "file listed twice",
      manifest: manifest(
        "\"./step-0000-layer-001.safetensors\"", "\"step-0001-layer-000.safetensors\"")
    ) {
      .duplicateFile(file: $0, field: "steps[1].files[1]", path: "step-0001-layer-000.safetensors")
    },
    ErrorCase(id: "negative step", manifest: manifest("\"step\": 0,", "\"step\": -1,")) {
      .negativeStep(file: $0, field: "steps[1].step", step: -1)
    },
    ErrorCase(id: "duplicate step", manifest: manifest("\"step\": 0,", "\"step\": 1,")) {
      .duplicateStep(file: $0, field: "steps[1].step", step: 1)
    },
    ErrorCase(
      id: "step without files",
      manifest: manifest(
        "\"files\": [\"step-0000-layer-000.safetensors\", \"./step-0000-layer-001.safetensors\"]",
        "\"files\": []")
    ) { .emptyStep(file: $0, field: "steps[1].files", step: 0) },
  ]

  @Test(arguments: errorCases)
  func invalidManifestsAreNamed(_ c: ErrorCase) throws {
    let r = try Recording(manifest: c.manifest)
    let expected = c.expected(r.manifestPath)
    #expect(throws: expected) { try r.load() }
    // One line, naming the manifest file.
    #expect(!expected.description.contains("\n"))
    #expect(expected.description.hasPrefix(r.manifestPath + ": "))
  }

  @Test func missingManifestIsNamed() throws {
    let dir = try TemporaryDirectory()
    let path = dir.url.standardizedFileURL.appendingPathComponent("manifest.json").path
    #expect(throws: RecordingManifestError.missingManifest(file: path)) {
      try RecordingManifest.load(directory: dir.url.path)
    }
  }

  @Test func symbolicLinkOutOfTheDirectoryIsRefused() throws {
    let outside = try TemporaryDirectory()
    #expect(FileManager.default.createFile(atPath: outside.path("w.safetensors"), contents: Data()))
    let r = try Recording(
      manifest: Self.manifest("[\"weights.safetensors\"]", "[\"link.safetensors\"]"))
    try FileManager.default.createSymbolicLink(
      atPath: r.dir.path("link.safetensors"), withDestinationPath: outside.path("w.safetensors"))
    #expect(
      throws: RecordingManifestError.pathOutsideDirectory(
        file: r.manifestPath, field: "weights[0]", path: "link.safetensors")
    ) { try r.load() }
  }

  @Test func recipeMustBeText() throws {
    let r = try Recording(manifest: Self.valid)
    try Data([0xFF, 0xFE, 0x00, 0xC3]).write(to: URL(fileURLWithPath: r.dir.path("recipe.yaml")))
    #expect(
      throws: RecordingManifestError.unreadableRecipe(
        file: r.manifestPath, field: "recipe", path: "recipe.yaml")
    ) { try r.load() }
  }
}

// MARK: - Committed fixtures

extension RecordingManifestTests {
  /// `Tests/Fixtures/oneshot/<model>-<recipe>/recording`, written by calib_oneshot.py.
  static let oneshotFixtures: [String] = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent()
      .appendingPathComponent("Fixtures/oneshot")
    let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
    return names.sorted().map {
      root.appendingPathComponent($0).appendingPathComponent("recording").path
    }
    .filter { FileManager.default.fileExists(atPath: $0 + "/manifest.json") }
  }()

  @Test func oneshotFixturesExist() {
    #expect(Self.oneshotFixtures.count == 8)
  }

  @Test(arguments: oneshotFixtures)
  func oneshotFixtureLoadsAndItsFilesAreTodaysRecordingFormat(_ directory: String) throws {
    let m = try RecordingManifest.load(directory: directory)
    #expect(m.producer == "calib_oneshot.py")
    #expect(m.modelDType == "bfloat16")
    #expect(m.recipeText?.contains("QuantizationModifier") == true)
    #expect(m.stepFiles.count == m.steps.reduce(0) { $0 + $1.files.count })
    // Every step file carries its manifest step number; a key appears once per step.
    for step in m.steps {
      var keys = Set<String>()
      for name in step.files {
        let file = try SafetensorsFile(path: m.directory + "/" + name)
        #expect(file.metadata["step"] == String(step.step))
        for entry in file.entries {
          #expect(keys.insert(entry.name).inserted, "\(entry.name) twice")
        }
      }
    }
    // The step and weight files are what today's recorder input reader accepts.
    let inputs = try RecordingInputs(stepFiles: m.stepFiles, weightFiles: m.weightFiles)
    // A step spans several files (one per layer), grouped by their `step` metadata.
    #expect(inputs.steps.count == m.steps.count)
    #expect(inputs.stepFiles.count == m.stepFiles.count)
    #expect(!inputs.weights.isEmpty)
    for module in m.uncalibrated.keys {
      #expect(inputs.weights[module] != nil, "uncalibrated \(module) still has its weight")
      #expect(inputs.sampledBases(of: module).isEmpty)
    }
    if directory.contains("/mixtral-"), !m.steps.isEmpty {
      #expect(m.uncalibrated.count == 12)
    }
  }
}
