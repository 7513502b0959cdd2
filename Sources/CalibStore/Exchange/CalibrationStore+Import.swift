import CalibCore
import CalibFormats
import Foundation
internal import GRDB

/// What `import-qparams` read.
public struct ImportSummary: Sendable {
  public var run: String
  public var files: Int
  /// Quantization parameter tensors imported.
  public var tensors: Int
  /// Other tensors (weights, biases, …), ignored.
  public var ignored: Int
  /// (module, base name) pairs imported.
  public var pairs: Int
  /// Pairs without arguments (no `calib_args` metadata and no quantization config).
  public var withoutArguments: Int
  /// Lines about what was imported as it is but looks wrong.
  public var warnings: [String] = []
}

/// A checkpoint tensor that cannot be a quantization parameter as named.
public enum ImportError: Error, Equatable, CustomStringConvertible {
  case malformed(file: String, tensor: String, reason: String)
  case noParameters(files: [String])
  case unreadableIndex(file: String, reason: String)
  case invalidConfig(file: String, reason: String)

  public var description: String {
    switch self {
    case .malformed(let file, let tensor, let reason):
      "\(file): tensor '\(tensor)' \(reason): fix or remove it from the checkpoint"
    case .noParameters(let files):
      "\(files.joined(separator: ", ")): no quantization parameters (<module>.<base>_scale, …) found: give the quantized checkpoint's safetensors files"
    case .unreadableIndex(let file, let reason):
      "\(file): not a readable model.safetensors.index.json (\(reason))"
    case .invalidConfig(let file, let reason):
      "\(file): invalid quantization config (\(reason)): fix config.json, or export with 'calib export' so the arguments travel in the file"
    }
  }
}

/// A checkpoint's quantization parameters, read and checked before a store is touched:
/// what ``CalibrationStore/importQParams(run:_:note:)`` writes.
public struct CheckpointParameters: Sendable {
  /// The files as given (an index stands for its shards).
  public let given: [String]
  /// The safetensors files read.
  public let files: [String]
  fileprivate let read: CalibrationStore.ImportedParameters
  fileprivate let argsByPair: [PairKey: String]

  /// Reads the parameters of `given` (safetensors files, or `model.safetensors.index.json`
  /// files standing for their shards).
  ///
  /// Arguments come from the files' `calib_args` metadata (written by
  /// ``CalibrationStore/exportTensors(ofRun:scaleDType:)``), else from the
  /// `quantization_config` of a `config.json` beside the first file. Unknown tensors are
  /// ignored and counted.
  ///
  /// - Throws: ``ImportError`` for malformed parameters or a checkpoint with none,
  ///   ``FormatError`` for unreadable files.
  public init(files given: [String]) throws {
    let files = try ShardIndex.files(for: given)
    var read = CalibrationStore.ImportedParameters()
    for path in files {
      let file = try SafetensorsFile(path: path)
      read.argsByPair.merge(CalibrationStore.calibArguments(of: file)) { _, new in new }
      try read.add(file)
    }
    if read.entries.isEmpty { throw ImportError.noParameters(files: given) }
    try CalibrationStore.checkZeroPoints(read.entries, file: files[0])
    self.given = given
    self.files = files
    self.read = read
    argsByPair = read.argsByPair.isEmpty ? try CalibrationStore.configArguments(besides: files[0], for: read.entries) : read.argsByPair
  }

  /// One line for the scales and global scales that hold NaN, ±inf, zero or negative
  /// values (no calibration makes them), naming a few; `nil` when there are none. They are
  /// imported as they are: the checkpoint is what it is, and `diff` shows them.
  var implausibleScalesWarning: String? {
    var named: [String] = []
    for (key, p) in read.entries.sorted(by: { ($0.key.module, $0.key.base.rawValue) < ($1.key.module, $1.key.base.rawValue) }) {
      if let scale = p.scale, scale.values.contains(where: { !($0 > 0 && $0.isFinite) }) {
        named.append(CheckpointParameter(module: key.module, baseName: key.base, kind: .scale).name)
      }
      if let g = p.globalScale, !(g > 0 && g.isFinite) {
        named.append(CheckpointParameter(module: key.module, baseName: key.base, kind: .globalScale).name)
      }
    }
    guard !named.isEmpty else { return nil }
    let examples = named.prefix(3).joined(separator: ", ") + (named.count > 3 ? ", …" : "")
    return "\(named.count) scale tensor(s) hold NaN, infinite, zero or negative values (\(examples)): imported as they are"
  }
}

extension CalibrationStore {
  /// Reads compressed-tensors quantization parameters from checkpoint files into a new run
  /// of kind `imported` (see ``CheckpointParameters/init(files:)``); nothing is written
  /// when they are malformed.
  public func importQParams(run name: String, files given: [String], note: String? = nil) throws -> ImportSummary {
    try importQParams(run: name, CheckpointParameters(files: given), note: note)
  }

  /// Writes a checkpoint's parameters as a new run of kind `imported`, in one transaction.
  public func importQParams(run name: String, _ checkpoint: CheckpointParameters, note: String? = nil) throws -> ImportSummary {
    let entries = checkpoint.read.entries
    try insertImportedRun(
      named: name, note: note ?? "imported from \(checkpoint.given.joined(separator: ", "))", entries: entries,
      argsByPair: checkpoint.argsByPair)
    return ImportSummary(
      run: name, files: checkpoint.files.count, tensors: checkpoint.read.tensors, ignored: checkpoint.read.ignored,
      pairs: entries.count, withoutArguments: entries.keys.filter { checkpoint.argsByPair[$0] == nil }.count,
      warnings: checkpoint.implausibleScalesWarning.map { [$0] } ?? [])
  }

  /// The quantization parameters of a checkpoint's files, gathered file by file.
  struct ImportedParameters: Sendable {
    var entries: [PairKey: ModuleParameters] = [:]
    /// Arguments JSON by pair, from the files' `calib_args` metadata.
    var argsByPair: [PairKey: String] = [:]
    /// Tensors that are not quantization parameters.
    var ignored = 0
    /// Quantization parameter tensors read.
    var tensors = 0

    /// Adds the scale, zero point and global scale tensors of `file`; counts the others.
    mutating func add(_ file: SafetensorsFile) throws {
      for entry in file.entries {
        guard let parameter = CheckpointParameter(name: entry.name) else {
          ignored += 1
          continue
        }
        tensors += 1
        let key = PairKey(module: parameter.module, base: parameter.baseName)
        var values = try CalibrationStore.decodeParameter(file, entry, parameter)
        var p = entries[key] ?? ModuleParameters()
        switch parameter.kind {
        case .scale:
          if entry.dtype == .u8 { values = Tensor(shape: values.shape, values: values.values.map(MXScale.decode(exponent:))) }
          p.scale = values
        case .zeroPoint:
          p.zeroPoint = values
          p.zeroPointDType = CalibrationStore.torchDType(entry.dtype)
        case .globalScale:
          guard values.elementCount == 1 else {
            throw ImportError.malformed(file: file.path, tensor: entry.name, reason: "has \(values.elementCount) values, a global scale has 1")
          }
          p.globalScale = values.values[0]
        }
        entries[key] = p
      }
    }
  }

  /// The arguments JSON that ``exportTensors(ofRun:scaleDType:)`` wrote into `file`'s
  /// `calib_args` metadata, keyed `module/base`; empty when there is none.
  static func calibArguments(of file: SafetensorsFile) -> [PairKey: String] {
    guard let json = file.metadata["calib_args"], let data = json.data(using: .utf8),
      let object = try? JSONSerialization.jsonObject(with: data) as? [String: String]
    else { return [:] }
    var result: [PairKey: String] = [:]
    for (key, value) in object {
      let parts = key.split(separator: "/")
      if parts.count == 2, let base = BaseName(rawValue: String(parts[1])) {
        result[PairKey(module: String(parts[0]), base: base)] = value
      }
    }
    return result
  }

  /// Throws if a zero point has no scale, or a shape other than its scale's.
  static func checkZeroPoints(_ entries: [PairKey: ModuleParameters], file: String) throws {
    for (key, p) in entries {
      if p.zeroPoint != nil && p.scale == nil {
        throw ImportError.malformed(file: file, tensor: CheckpointParameter(module: key.module, baseName: key.base, kind: .zeroPoint).name, reason: "has no matching scale")
      }
      if let zp = p.zeroPoint, let s = p.scale, zp.shape != s.shape {
        throw ImportError.malformed(file: file, tensor: CheckpointParameter(module: key.module, baseName: key.base, kind: .zeroPoint).name, reason: "has shape \(zp.shape) but the scale has \(s.shape)")
      }
    }
  }

  /// Arguments JSON by pair from the `quantization_config` of a `config.json` beside
  /// `file`, with modules typed `Attention` when they have attention states (else
  /// `Linear`); empty when there is no config or its targets do not fit.
  static func configArguments(besides file: String, for entries: [PairKey: ModuleParameters]) throws
    -> [PairKey: String]
  {
    guard let config = try quantizationConfig(besides: file) else { return [:] }
    let modules = Set(entries.keys.map(\.module)).sorted().map { m in
      (name: m, type: entries.keys.contains { $0.module == m && $0.base.isAttentionState } ? "Attention" : "Linear")
    }
    guard let schemes = try? config.schemes(for: modules) else { return [:] }
    var result: [PairKey: String] = [:]
    for key in entries.keys {
      if let args = schemes[key.module]?.arguments(for: key.base), let data = try? JSONEncoder.sorted.encode(args) {
        result[key] = String(decoding: data, as: UTF8.self)
      }
    }
    return result
  }

  /// Writes a complete run of kind `imported` with one qparams row per pair, in one
  /// transaction.
  private func insertImportedRun(
    named name: String, note: String, entries: [PairKey: ModuleParameters], argsByPair: [PairKey: String]
  ) throws {
    try pool.write { db in
      if try runRecord(db, named: name) != nil { throw StoreError.runAlreadyExists(name) }
      var run = RunRecord(name: name, kind: .imported, recipe: nil, note: note)
      run.status = .complete
      run.owner = nil
      run.weightsDone = true
      try run.insert(db)
      for (key, p) in entries {
        let moduleID = try moduleID(db, name: key.module, type: nil)
        let args = argsByPair[key]
        try QParamsRecord(
          runID: run.id ?? -1, moduleID: moduleID, baseName: key.base.rawValue,
          observer: Self.decodeArgs(args)?.observer, args: args ?? "null",
          scaleShape: p.scale.map { TensorBlob.shapeText($0.shape) }, scale: p.scale.map { TensorBlob.data($0.values) },
          zeroPointDType: p.zeroPointDType?.rawValue, zeroPoint: p.zeroPoint.map { TensorBlob.data($0.values) },
          globalScale: p.globalScale.map { TensorBlob.data([$0]) }, scaleDType: p.scale?.dtype.torchName, calibrated: true
        ).insert(db)
      }
    }
  }

  private static func decodeParameter(_ file: SafetensorsFile, _ entry: TensorEntry, _ parameter: CheckpointParameter) throws -> Tensor {
    let numeric: Set<ElementType> = [.f32, .f16, .bf16, .f64, .f8E4M3, .i8, .u8, .i32, .i64]
    guard numeric.contains(entry.dtype) else {
      throw ImportError.malformed(file: file.path, tensor: entry.name, reason: "has dtype \(entry.dtype.rawValue), not a number type")
    }
    if entry.elementCount == 0 {
      throw ImportError.malformed(file: file.path, tensor: entry.name, reason: "is empty")
    }
    if parameter.kind != .zeroPoint && [.i8, .i32, .i64].contains(entry.dtype) {
      throw ImportError.malformed(file: file.path, tensor: entry.name, reason: "has integer dtype \(entry.dtype.rawValue); scales are floats (or uint8 MX exponents)")
    }
    return try file.tensor(entry.name)
  }

  private static func torchDType(_ t: ElementType) -> TorchDType {
    switch t {
    case .i8: .int8
    case .u8: .uint8
    case .i32: .int32
    case .i64: .int64
    case .f8E4M3: .float8E4M3FN
    case .f16: .float16
    case .bf16: .bfloat16
    case .f64: .float64
    default: .float32
    }
  }

  /// The `quantization_config` of a `config.json` in the file's directory, as a recipe;
  /// nil when there is no `config.json` or it has no `quantization_config`.
  ///
  /// - Throws: ``ImportError/invalidConfig(file:reason:)`` for a `config.json` that is not a
  ///   JSON object or whose `quantization_config` is not a valid set of config groups.
  static func quantizationConfig(besides file: String) throws -> Recipe? {
    let dir = (file as NSString).deletingLastPathComponent
    let path = (dir as NSString).appendingPathComponent("config.json")
    guard FileManager.default.fileExists(atPath: path) else { return nil }
    let text: String
    do {
      text = try RecipeFile.read(path)
    } catch {
      throw ImportError.invalidConfig(file: path, reason: "\(error)")
    }
    guard let parsed = try? JSONSerialization.jsonObject(with: Data(text.utf8)) else {
      throw ImportError.invalidConfig(file: path, reason: "not valid JSON, or nested more than 512 levels deep")
    }
    guard let object = parsed as? [String: Any] else {
      throw ImportError.invalidConfig(file: path, reason: "not a JSON object")
    }
    guard let q = object["quantization_config"], !(q is NSNull) else { return nil }
    guard let config = q as? [String: Any] else {
      throw ImportError.invalidConfig(file: path, reason: "quantization_config is not an object")
    }
    guard let groups = config["config_groups"] as? [String: Any], !groups.isEmpty else {
      throw ImportError.invalidConfig(file: path, reason: "quantization_config has no config_groups object")
    }
    let ignore = config["ignore"] ?? []
    guard JSONSerialization.isValidJSONObject(["config_groups": groups, "ignore": ignore]),
      let json = try? JSONSerialization.data(withJSONObject: ["config_groups": groups, "ignore": ignore])
    else {
      throw ImportError.invalidConfig(file: path, reason: "quantization_config cannot be re-encoded")
    }
    do {
      return try Recipe(text: String(decoding: json, as: UTF8.self), source: path)
    } catch let error as RecipeError {
      throw ImportError.invalidConfig(file: path, reason: "\(error)")
    }
  }
}
