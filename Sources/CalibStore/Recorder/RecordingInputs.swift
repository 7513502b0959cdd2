import CalibCore
import CalibFormats
import CalibLifecycle
import Foundation

/// The step files and weight files of a recording, opened and checked before anything is
/// written: every key parsed as `<module>.<base name>`, module classes read from the
/// `module_types` metadata (or inferred), weights indexed by module.
///
/// A step may span several files (a sequential pipeline writes one per layer): when every
/// step file has a `step` metadata entry, files are grouped by it, in step order; without
/// it, each file is one step, in the order given.
public struct RecordingInputs: Sendable {
  /// One calibration step: the samples of one or more files.
  public struct Step: Sendable {
    /// Indices into ``RecordingInputs/stepFiles``, in the order given.
    public let files: [Int]
    /// `(file, entry, module, base name)` in file order.
    public let samples: [(file: Int, entry: TensorEntry, module: String, baseName: BaseName)]
  }

  /// Every step file, in the order given.
  public let stepFiles: [SafetensorsFile]
  public let steps: [Step]
  /// The weights files, in the order given.
  public let weightFiles: [SafetensorsFile]
  /// Weight tensors by module name (2-D `<module>.weight` keys only).
  public let weights: [String: (file: SafetensorsFile, entry: TensorEntry)]
  /// Module class names: from metadata, else `Linear` for modules with input/output
  /// samples and `Attention` for modules with q/k/v states.
  public let moduleTypes: [String: String]

  /// Opens and validates the files.
  ///
  /// - Throws: ``FormatError`` for unreadable files, ``InputError`` for keys that are not
  ///   `<module>.<input|output|q|k|v>`, a `step` metadata entry that is not a
  ///   non-negative integer, a sample that two files of one step both hold, or a weight
  ///   that two weight files both hold.
  /// - Parameter weightFiles: safetensors files; a `model.safetensors.index.json` stands
  ///   for its shards and a model directory for its index or `model.safetensors`
  ///   (``ShardIndex``); a file given twice is read once.
  /// - Parameter moduleTypes: class names known beforehand (a recording manifest's); the
  ///   files' metadata adds to them.
  public init(stepFiles: [String], weightFiles: [String], moduleTypes known: [String: String] = [:]) throws {
    var types = known
    let files = try stepFiles.map { try SafetensorsFile(path: $0) }
    var samples: [[(file: Int, entry: TensorEntry, module: String, baseName: BaseName)]] = []
    for (index, file) in files.enumerated() {
      types.merge(Self.moduleTypes(file), uniquingKeysWith: { a, _ in a })
      samples.append(try file.entries.map { entry in
        let pair = try SampleKey.pair(entry.name, file: file.path)
        return (index, entry, pair.module, pair.base)
      })
    }
    let steps = try Self.group(files).map { indices in
      Step(files: indices, samples: indices.flatMap { samples[$0] })
    }
    for step in steps {
      var seen: [String: Int] = [:]
      for s in step.samples {
        if let other = seen[s.entry.name], other != s.file {
          throw InputError.duplicateSample(key: s.entry.name, files: [files[other].path, files[s.file].path])
        }
        seen[s.entry.name] = s.file
      }
    }
    var weights: [String: (SafetensorsFile, TensorEntry)] = [:]
    var weightFileList: [SafetensorsFile] = []
    for path in try ShardIndex.files(for: weightFiles) {
      let file = try SafetensorsFile(path: path)
      weightFileList.append(file)
      types.merge(Self.moduleTypes(file), uniquingKeysWith: { a, _ in a })
      for entry in file.entries where entry.name.hasSuffix(".weight") && entry.shape.count == 2 {
        let module = String(entry.name.dropLast(7))
        if let (other, _) = weights[module] {
          throw InputError.duplicateWeight(key: entry.name, files: [other.path, file.path])
        }
        weights[module] = (file, entry)
      }
    }
    for step in steps {
      for s in step.samples where types[s.module] == nil {
        types[s.module] = s.baseName.isAttentionState ? "Attention" : "Linear"
      }
    }
    self.stepFiles = files
    self.steps = steps
    self.weightFiles = weightFileList
    self.weights = weights
    self.moduleTypes = types
  }

  /// The files of each step: grouped by `step` metadata when every file has it, one file
  /// per step otherwise.
  private static func group(_ files: [SafetensorsFile]) throws -> [[Int]] {
    let numbers = try files.map { file -> Int? in
      guard let text = file.metadata["step"] else { return nil }
      guard let n = Int(text), n >= 0 else { throw InputError.badStep(file: file.path, value: text) }
      return n
    }
    guard !numbers.isEmpty, numbers.allSatisfy({ $0 != nil }) else { return files.indices.map { [$0] } }
    let byStep = Dictionary(grouping: files.indices) { numbers[$0] ?? 0 }
    return byStep.keys.sorted().map { byStep[$0] ?? [] }
  }

  private static func moduleTypes(_ file: SafetensorsFile) -> [String: String] {
    guard let json = file.metadata["module_types"], let data = json.data(using: .utf8),
      let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { return [:] }
    return object.compactMapValues { $0 as? String }
  }

  /// Every module named by a sample or a weight, with its class when known.
  public var modules: [(name: String, type: String?)] {
    var names = Set(weights.keys)
    for step in steps { for s in step.samples { names.insert(s.module) } }
    return names.sorted().map { ($0, moduleTypes[$0]) }
  }

  /// The position of a weights file among ``weightFiles``.
  func weightFileIndex(of file: SafetensorsFile) -> Int {
    weightFiles.firstIndex { $0.path == file.path } ?? 0
  }

  /// The modules whose weights a recording keeps, sorted: those the recipe quantizes and
  /// those of every sampled module (so a replay can quantize weights the recording's
  /// recipe left alone), where a weights file has them.
  func storedWeights(quantized: Set<String>) -> [String] {
    let sampled = Set(steps.flatMap { $0.samples.map(\.module) })
    return quantized.union(sampled).filter { weights[$0] != nil }.sorted()
  }

  /// The base names a module has samples for (in any step).
  public func sampledBases(of module: String) -> Set<BaseName> {
    var bases = Set<BaseName>()
    for step in steps { for s in step.samples where s.module == module { bases.insert(s.baseName) } }
    return bases
  }
}

/// Step-file keys: `<module>.<input|output|q|k|v>`.
enum SampleKey {
  /// The (module, base name) a key names.
  ///
  /// - Throws: ``InputError/badKey(file:key:)`` for any other key.
  static func pair(_ key: String, file: String) throws -> PairKey {
    guard let dot = key.lastIndex(of: "."), let base = BaseName(rawValue: String(key[key.index(after: dot)...])), base != .weight
    else { throw InputError.badKey(file: file, key: key) }
    return PairKey(module: String(key[..<dot]), base: base)
  }
}
