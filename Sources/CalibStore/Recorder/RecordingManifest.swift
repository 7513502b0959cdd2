import Foundation

/// The `manifest.json` of a recording directory written by `Samples/python/calib_oneshot.py`:
/// which files hold the steps and the weights, which recipe oneshot ran, and how the
/// calibration batches map to dataset samples.
///
/// A recording directory looks like this (paths in the manifest are relative to it):
///
/// ```
/// manifest.json
/// recipe.yaml
/// weights.safetensors                 keys <module>.weight
/// step-0000-layer-000.safetensors     keys <module>.<input|output|q|k|v>, metadata step = "0"
/// step-0000-layer-001.safetensors
/// ...
/// ```
///
/// A step may span several files (one per layer in oneshot's sequential pipeline); the
/// step number comes from the manifest (and the files' `step` metadata), never from file
/// names. A recording of a weight-only recipe has `"steps": []`.
///
/// ``load(directory:)`` decodes and validates the manifest and fills in the absolute
/// paths ``weightFiles`` and ``stepFiles`` and the ``recipeText``.
///
/// For example:
///
/// ```swift
/// let manifest = try RecordingManifest.load(directory: "rec")
/// let inputs = try RecordingInputs(stepFiles: manifest.stepFiles,
///                                  weightFiles: manifest.weightFiles)
/// ```
///
/// ## Topics
///
/// ### Loading
/// - ``load(directory:)``
/// - ``fileName``
///
/// ### Resolved paths
/// - ``directory``
/// - ``weightFiles``
/// - ``stepFiles``
/// - ``recipeText``
public struct RecordingManifest: Sendable, Decodable {
  /// One calibration step (batch) and the files that hold its tensors.
  public struct Step: Sendable, Decodable, Equatable {
    /// The step number, unique in the manifest and equal to the files' `step` metadata.
    public let step: Int
    /// The files of this step, relative to the recording directory.
    public let files: [String]
    /// The dataset sample ids of this batch, in batch order, when the producer knew them.
    public let samples: [Int]?
  }

  /// The manifest's file name inside a recording directory.
  public static let fileName = "manifest.json"
  /// The only `format` value this reader accepts.
  public static let format = "calib-recording"
  /// The manifest version this reader understands.
  public static let supportedVersion = 1

  /// Always `calib-recording`.
  public let format: String
  /// The manifest version (1).
  public let version: Int
  /// The program that wrote the recording, such as `calib_oneshot.py`.
  public let producer: String?
  /// The llm-compressor calibration pipeline that ran: `sequential`, `basic`, `datafree`
  /// or `independent`.
  public let pipeline: String?
  /// The model's parameter dtype, such as `bfloat16`.
  public let modelDType: String?
  /// The resolved recipe oneshot ran (YAML), relative to the directory.
  public let recipe: String?
  /// The weight files, relative to the directory; keys `<module>.weight`.
  public let weights: [String]
  /// The steps in the order the producer listed them (normally ascending).
  public let steps: [Step]
  /// Module name → class name, for every module named in the recording.
  public let moduleTypes: [String: String]
  /// Dataset sample ids in the order the calibration sampler produced them, when known.
  public let sampleOrder: [Int]?
  /// Samples per calibration batch, when known.
  public let batchSize: Int?
  /// The activation observers that never received a tensor, by module.
  ///
  /// Maps a module (for example an MoE expert no token was routed to) to the base names it
  /// missed (`input`, `output`, `q`, `k`, `v`). Their activation qparams in oneshot's
  /// checkpoint are uninitialised.
  public let uncalibrated: [String: [String]]
  /// Versions of the packages that produced the recording (`llmcompressor`, ...).
  public let versions: [String: String]

  /// The recording directory, absolute and standardized (set by ``load(directory:)``).
  public private(set) var directory = ""
  /// ``weights`` as absolute paths (set by ``load(directory:)``).
  public private(set) var weightFiles: [String] = []
  /// Every step file as an absolute path, steps in ascending step number and each step's
  /// files in manifest order (set by ``load(directory:)``).
  public private(set) var stepFiles: [String] = []
  /// The text of ``recipe``, or `nil` if the manifest names none (set by ``load(directory:)``).
  public private(set) var recipeText: String?

  private enum CodingKeys: String, CodingKey {
    case format, version, producer, pipeline, recipe, weights, steps, uncalibrated, versions
    case modelDType = "model_dtype"
    case moduleTypes = "module_types"
    case sampleOrder = "sample_order"
    case batchSize = "batch_size"
  }

  /// Decodes the manifest's JSON fields; use ``load(directory:)``, which also validates
  /// them and resolves the paths.
  ///
  /// Optional fields may be missing or `null`; unknown fields are ignored.
  ///
  /// - Throws: `DecodingError` for a missing required field or a field of the wrong type.
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    format = try c.decode(String.self, forKey: .format)
    version = try c.decode(Int.self, forKey: .version)
    producer = try c.decodeIfPresent(String.self, forKey: .producer)
    pipeline = try c.decodeIfPresent(String.self, forKey: .pipeline)
    modelDType = try c.decodeIfPresent(String.self, forKey: .modelDType)
    recipe = try c.decodeIfPresent(String.self, forKey: .recipe)
    weights = try c.decode([String].self, forKey: .weights)
    steps = try c.decode([Step].self, forKey: .steps)
    moduleTypes = try c.decodeIfPresent([String: String].self, forKey: .moduleTypes) ?? [:]
    sampleOrder = try c.decodeIfPresent([Int].self, forKey: .sampleOrder)
    batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize)
    uncalibrated = try c.decodeIfPresent([String: [String]].self, forKey: .uncalibrated) ?? [:]
    versions = try c.decodeIfPresent([String: String].self, forKey: .versions) ?? [:]
  }

  /// Reads and validates `directory/manifest.json`.
  ///
  /// Checks, in this order: the JSON and its field types; `format` and `version`; that
  /// every path is relative and stays inside the directory (also through symbolic links),
  /// names an existing regular file and is listed once; that step numbers are non-negative
  /// and unique and every step lists a file; that the recipe is UTF-8 text.
  ///
  /// For example:
  ///
  /// ```swift
  /// let manifest = try RecordingManifest.load(
  ///   directory: "Tests/Fixtures/oneshot/llama-w8a8/recording")
  /// print(manifest.stepFiles.count, manifest.weightFiles, manifest.recipeText ?? "")
  /// ```
  ///
  /// - Parameters:
  ///   - directory: The recording directory, absolute or relative to the working directory.
  /// - Returns: The manifest with ``directory``, ``weightFiles``, ``stepFiles`` and
  ///   ``recipeText`` filled in.
  /// - Throws: ``RecordingManifestError``, whose message names the manifest file and the field.
  public static func load(directory: String) throws -> RecordingManifest {
    let root = URL(fileURLWithPath: directory, isDirectory: true).standardizedFileURL
    let file = root.appendingPathComponent(fileName).path
    guard let data = FileManager.default.contents(atPath: file) else {
      throw RecordingManifestError.missingManifest(file: file)
    }
    var manifest: RecordingManifest
    do {
      manifest = try JSONDecoder().decode(RecordingManifest.self, from: data)
    } catch let error as DecodingError {
      throw Self.describe(error, file: file)
    } catch {
      throw RecordingManifestError.unreadable(file: file, field: "(root)", reason: "not JSON")
    }
    try manifest.validate(root: root, file: file)
    return manifest
  }

  // MARK: - Validation

  private mutating func validate(root: URL, file: String) throws {
    guard format == Self.format else {
      throw RecordingManifestError.unsupportedFormat(file: file, found: format)
    }
    guard version == Self.supportedVersion else {
      throw RecordingManifestError.unsupportedVersion(
        file: file, found: version, supported: Self.supportedVersion)
    }
    var resolver = PathResolver(root: root, manifest: file)
    directory = root.path
    weightFiles = try weights.enumerated().map { i, path in
      try resolver.resolve(path, field: "weights[\(i)]")
    }
    var seenSteps: [Int: Int] = [:]
    var resolvedSteps: [(step: Int, files: [String])] = []
    for (i, entry) in steps.enumerated() {
      let field = "steps[\(i)].step"
      guard entry.step >= 0 else {
        throw RecordingManifestError.negativeStep(file: file, field: field, step: entry.step)
      }
      guard seenSteps.updateValue(i, forKey: entry.step) == nil else {
        throw RecordingManifestError.duplicateStep(file: file, field: field, step: entry.step)
      }
      guard !entry.files.isEmpty else {
        throw RecordingManifestError.emptyStep(
          file: file, field: "steps[\(i)].files", step: entry.step)
      }
      let files = try entry.files.enumerated().map { j, path in
        try resolver.resolve(path, field: "steps[\(i)].files[\(j)]")
      }
      resolvedSteps.append((entry.step, files))
    }
    stepFiles = resolvedSteps.sorted { $0.step < $1.step }.flatMap(\.files)
    if let recipe {
      let path = try resolver.resolve(recipe, field: "recipe")
      guard let data = FileManager.default.contents(atPath: path),
        let text = String(data: data, encoding: .utf8)
      else {
        throw RecordingManifestError.unreadableRecipe(file: file, field: "recipe", path: recipe)
      }
      recipeText = text
    }
  }

  /// Turns a decoding failure into a one-line error naming the JSON field.
  private static func describe(_ error: DecodingError, file: String) -> RecordingManifestError {
    func field(_ path: [any CodingKey]) -> String {
      let text = path.reduce(into: "") { text, key in
        if let index = key.intValue {
          text += "[\(index)]"
        } else {
          text += text.isEmpty ? key.stringValue : "." + key.stringValue
        }
      }
      return text.isEmpty ? "(root)" : text
    }
    switch error {
    case .keyNotFound(let key, let context):
      return .unreadable(file: file, field: field(context.codingPath + [key]), reason: "missing")
    case .typeMismatch(let type, let context):
      return .unreadable(
        file: file, field: field(context.codingPath), reason: "expected \(Self.jsonName(type))")
    case .valueNotFound(let type, let context):
      return .unreadable(
        file: file, field: field(context.codingPath),
        reason: "expected \(Self.jsonName(type)), found null")
    case .dataCorrupted(let context):
      return .unreadable(
        file: file, field: field(context.codingPath),
        reason: context.codingPath.isEmpty ? "not valid JSON" : "invalid value")
    @unknown default:
      return .unreadable(file: file, field: "(root)", reason: "not a recording manifest")
    }
  }

  private static func jsonName(_ type: Any.Type) -> String {
    switch type {
    case is String.Type: "a string"
    case is Int.Type: "an integer"
    case is [String].Type, is [Int].Type, is [Step].Type: "an array"
    default: "an object"
    }
  }
}

/// Resolves manifest paths against the recording directory and checks each one.
private struct PathResolver {
  let root: URL
  let realRoot: String
  let manifest: String
  var seen: Set<String> = []

  init(root: URL, manifest: String) {
    self.root = root
    self.realRoot = root.resolvingSymlinksInPath().path
    self.manifest = manifest
  }

  mutating func resolve(_ relative: String, field: String) throws -> String {
    // Lexical check first: an absolute path or one that climbs above the root with ".."
    // is rejected even when it happens to point back inside.
    guard !relative.isEmpty, !relative.hasPrefix("/"), !relative.hasPrefix("~") else {
      throw RecordingManifestError.pathOutsideDirectory(
        file: manifest, field: field, path: relative)
    }
    var depth = 0
    for component in relative.split(separator: "/", omittingEmptySubsequences: true) {
      switch component {
      case ".": continue
      case "..": depth -= 1
      default: depth += 1
      }
      guard depth >= 0 else {
        throw RecordingManifestError.pathOutsideDirectory(
          file: manifest, field: field, path: relative)
      }
    }
    let url = root.appendingPathComponent(relative).standardizedFileURL
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory),
      !isDirectory.boolValue
    else {
      throw RecordingManifestError.missingFile(file: manifest, field: field, path: relative)
    }
    // A symbolic link inside the directory must not lead out of it.
    guard url.resolvingSymlinksInPath().path.hasPrefix(realRoot + "/") else {
      throw RecordingManifestError.pathOutsideDirectory(
        file: manifest, field: field, path: relative)
    }
    guard seen.insert(url.path).inserted else {
      throw RecordingManifestError.duplicateFile(file: manifest, field: field, path: relative)
    }
    return url.path
  }
}
