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
    for path in weightFiles {
      let file = try SafetensorsFile(path: path)
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

  /// The base names a module has samples for (in any step).
  public func sampledBases(of module: String) -> Set<BaseName> {
    var bases = Set<BaseName>()
    for step in steps { for s in step.samples where s.module == module { bases.insert(s.baseName) } }
    return bases
  }
}

/// Input files that do not have the shape of a recording.
public enum InputError: Error, Equatable, CustomStringConvertible {
  case badKey(file: String, key: String)
  case nonFinite(file: String, key: String, nan: Int, inf: Int)
  case stepFilesChanged(run: String, expected: Int, given: Int)
  case recipeChanged(run: String)

  public var description: String {
    switch self {
    case .badKey(let file, let key):
      "\(file): key '\(key)' is not <module>.<input|output|q|k|v>: write step files in the recorder's format"
    case .nonFinite(let file, let key, let nan, let inf):
      "\(file): tensor '\(key)' holds \(nan) NaN and \(inf) infinite values: clean the data, or pass --allow-nonfinite to record it flagged and skip it for observers"
    case .stepFilesChanged(let run, let expected, let given):
      "run \"\(run)\" has \(expected) completed steps but only \(given) step files were given: pass the same step files to --resume"
    case .recipeChanged(let run):
      "run \"\(run)\" was recorded with another recipe: resume without --recipe, or record a new run"
    }
  }
}
