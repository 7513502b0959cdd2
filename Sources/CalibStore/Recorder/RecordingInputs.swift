import CalibCore
import CalibFormats
import Foundation

/// The step files and weight files of a recording, opened and checked before anything is
/// written: every key parsed as `<module>.<base name>`, module classes read from the
/// `module_types` metadata (or inferred), weights indexed by module.
public struct RecordingInputs: Sendable {
  /// One step file.
  public struct Step: Sendable {
    public let file: SafetensorsFile
    /// `(entry, module, base name)` in file order.
    public let samples: [(entry: TensorEntry, module: String, baseName: BaseName)]
  }

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
  ///   `<module>.<input|output|q|k|v>`.
  public init(stepFiles: [String], weightFiles: [String]) throws {
    var types: [String: String] = [:]
    var steps: [Step] = []
    for path in stepFiles {
      let file = try SafetensorsFile(path: path)
      types.merge(Self.moduleTypes(file), uniquingKeysWith: { a, _ in a })
      var samples: [(TensorEntry, String, BaseName)] = []
      for entry in file.entries {
        guard let dot = entry.name.lastIndex(of: "."),
          let base = BaseName(rawValue: String(entry.name[entry.name.index(after: dot)...])), base != .weight
        else {
          throw InputError.badKey(file: path, key: entry.name)
        }
        samples.append((entry, String(entry.name[..<dot]), base))
      }
      steps.append(Step(file: file, samples: samples))
    }
    var weights: [String: (SafetensorsFile, TensorEntry)] = [:]
    var files: [SafetensorsFile] = []
    for path in weightFiles {
      let file = try SafetensorsFile(path: path)
      files.append(file)
      types.merge(Self.moduleTypes(file), uniquingKeysWith: { a, _ in a })
      for entry in file.entries where entry.name.hasSuffix(".weight") && entry.shape.count == 2 {
        weights[String(entry.name.dropLast(7))] = (file, entry)
      }
    }
    for step in steps {
      for s in step.samples where types[s.module] == nil {
        types[s.module] = s.baseName.isAttentionState ? "Attention" : "Linear"
      }
    }
    self.steps = steps
    self.weightFiles = files
    self.weights = weights
    self.moduleTypes = types
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
