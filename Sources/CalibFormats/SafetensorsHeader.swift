/// The validated header of a safetensors file: its `__metadata__` and tensor entries.
///
/// Parsing rejects anything a reader could trip over: missing or mistyped fields, unknown
/// dtypes, negative or overflowing shapes, decreasing offsets, data past the end of the data
/// section, byte ranges that disagree with dtype and shape, and overlapping tensors.
///
/// For example:
/// ```swift
/// let json = Array(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#.utf8)
/// let header = try SafetensorsHeader(parsing: json, dataSectionSize: 8, path: "a.safetensors")
/// header.entries[0].shape  // [2]
/// ```
public struct SafetensorsHeader: Sendable, Equatable {
  /// The largest header length accepted, in bytes (the limit the Rust library uses).
  public static let maximumLength = 100_000_000

  /// The string-to-string `__metadata__` object, empty when absent.
  public var metadata: [String: String]
  /// The tensors in file order: by start offset, then end offset, then name.
  public var entries: [TensorEntry]

  /// Creates a header from already-valid parts (used by tests and writers).
  public init(metadata: [String: String] = [:], entries: [TensorEntry] = []) {
    self.metadata = metadata
    self.entries = entries
  }

  /// Parses and validates header JSON whose data section holds `dataSectionSize` bytes.
  ///
  /// `path` only names the file in error messages. Throws ``FormatError``.
  public init(parsing json: [UInt8], dataSectionSize: Int, path: String) throws {
    let document = try SafetensorsHeaderJSON.decode(json, path: path)
    if let problem = document.metadataProblem {
      throw FormatError.invalidHeader(path: path, reason: problem)
    }
    var entries: [TensorEntry] = []
    entries.reserveCapacity(document.entries.count)
    for name in document.entries.keys.sorted() {
      guard let raw = document.entries[name] else { continue }
      entries.append(
        try Self.validate(raw, name: name, dataSectionSize: dataSectionSize, path: path))
    }
    entries.sort { a, b in
      (a.byteRange.lowerBound, a.byteRange.upperBound, a.name)
        < (b.byteRange.lowerBound, b.byteRange.upperBound, b.name)
    }
    try Self.checkOverlaps(entries, path: path)
    self.metadata = document.metadata
    self.entries = entries
  }

  /// The entry named `name`, if any (a linear search; ``SafetensorsFile`` keeps an index).
  public func entry(named name: String) -> TensorEntry? {
    entries.first { $0.name == name }
  }

  /// Checks one entry's fields against each other and the data section size.
  private static func validate(
    _ raw: SafetensorsHeaderJSON.Entry, name: String, dataSectionSize: Int, path: String
  ) throws -> TensorEntry {
    if let problem = raw.problem {
      throw FormatError.invalidEntry(path: path, tensor: name, reason: problem)
    }
    guard let dtypeName = raw.dtype, let shape = raw.shape, let offsets = raw.dataOffsets else {
      throw FormatError.invalidEntry(path: path, tensor: name, reason: "entry is incomplete")
    }
    guard let dtype = ElementType(rawValue: dtypeName) else {
      throw FormatError.unknownDType(path: path, tensor: name, dtype: dtypeName)
    }
    guard let counts = ShapeMath.counts(of: shape, byteWidth: dtype.byteWidth) else {
      throw FormatError.invalidShape(path: path, tensor: name, shape: shape)
    }
    guard offsets.count == 2 else {
      throw FormatError.invalidEntry(
        path: path, tensor: name,
        reason: "\"data_offsets\" must be [begin, end], got \(offsets.count) numbers")
    }
    let begin = offsets[0]
    let end = offsets[1]
    guard begin >= 0, begin <= end else {
      throw FormatError.invalidOffsets(path: path, tensor: name, begin: begin, end: end)
    }
    guard end <= dataSectionSize else {
      throw FormatError.offsetsPastEnd(
        path: path, tensor: name, end: end, dataSize: dataSectionSize)
    }
    guard end - begin == counts.bytes else {
      throw FormatError.sizeMismatch(
        path: path, tensor: name, expected: counts.bytes, actual: end - begin)
    }
    return TensorEntry(name: name, dtype: dtype, shape: shape, byteRange: begin..<end)
  }

  /// Throws if two non-empty byte ranges of entries sorted by start offset overlap.
  private static func checkOverlaps(_ sorted: [TensorEntry], path: String) throws {
    var furthest: TensorEntry?
    for entry in sorted where !entry.byteRange.isEmpty {
      if let previous = furthest, entry.byteRange.lowerBound < previous.byteRange.upperBound {
        throw FormatError.overlappingTensors(path: path, tensor: entry.name, other: previous.name)
      }
      if furthest.map({ entry.byteRange.upperBound > $0.byteRange.upperBound }) ?? true {
        furthest = entry
      }
    }
  }
}
