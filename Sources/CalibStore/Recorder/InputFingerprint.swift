import CalibFormats

/// What a recording read from one input file, to tell on `--resume` whether the file is
/// still the same: its size, and an xxh64 over one line per tensor the recording read
/// (`name dtype shape checksum`, the checksum being the payload's xxh64, which recording
/// computes anyway). A weights file counts only the tensors the recording kept, so an
/// unrelated tensor of a model file does not matter; a step file counts all of them.
struct InputFingerprint: Equatable {
  var path: String
  var byteCount: Int
  private var lines = ""

  init(path: String, byteCount: Int) {
    self.path = path
    self.byteCount = byteCount
  }

  /// Adds one tensor the recording read.
  mutating func add(_ entry: TensorEntry, checksum: String) {
    lines += "\(entry.name) \(entry.dtype.rawValue) \(entry.shape) \(checksum)\n"
  }

  /// xxh64 of the lines, 16 hex digits.
  var checksum: String {
    Array(lines.utf8).withUnsafeBytes { XXHash64.hex($0) }
  }

  /// The fingerprint of the tensors of `file` named by `entries`, read again.
  static func reading(_ file: SafetensorsFile, entries: [TensorEntry]) throws -> InputFingerprint {
    var fingerprint = InputFingerprint(path: file.path, byteCount: file.fileSize)
    for entry in entries {
      try file.withRawBytes(of: entry.name) { fingerprint.add(entry, checksum: XXHash64.hex($0)) }
    }
    return fingerprint
  }

  /// Checks the inputs of a resumed recording against the fingerprints recorded so far.
  ///
  /// - Throws: ``InputError/inputChanged(run:file:)`` naming the first file that differs.
  /// - Parameter weightModules: the modules whose weights the recording kept.
  static func verify(_ inputs: RecordingInputs, against recorded: [RecordedInput], weightModules: Set<String>, run: String) throws {
    for input in recorded {
      let given: InputFingerprint
      switch input.role {
      case .weights:
        guard input.position < inputs.weightFiles.count else {
          throw InputError.inputChanged(run: run, file: "weights file \(input.position + 1) (\(input.path))")
        }
        let file = inputs.weightFiles[input.position]
        let kept = inputs.weights.filter { $0.value.file.path == file.path && weightModules.contains($0.key) }
          .sorted { $0.key < $1.key }.map(\.value.entry)
        given = try reading(file, entries: kept)
      case .step:
        guard input.position < inputs.stepFiles.count else {
          throw InputError.inputChanged(run: run, file: "step file \(input.position + 1) (\(input.path))")
        }
        let file = inputs.stepFiles[input.position]
        given = try reading(file, entries: file.entries)
      }
      if given.byteCount != input.byteCount || given.checksum != input.checksum {
        throw InputError.inputChanged(run: run, file: given.path)
      }
    }
  }
}

/// An input file as a recording remembers it (table `runInput`).
struct RecordedInput: Sendable {
  enum Role: String, Sendable { case weights, step }

  var role: Role
  var position: Int
  var path: String
  var byteCount: Int
  var checksum: String
}
