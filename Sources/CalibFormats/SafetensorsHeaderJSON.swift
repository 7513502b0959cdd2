import CalibCore
import Foundation

/// The safetensors header JSON as decoded, before validation.
///
/// Decoding never fails on a wrong field type: problems are recorded so that validation can
/// report them with the tensor's name. It only fails when the text is not a JSON object.
struct SafetensorsHeaderJSON: Decodable {
  /// `__metadata__`, if present and a string-to-string object (`null` counts as empty).
  var metadata: [String: String] = [:]
  /// Why `__metadata__` is unusable, if it is.
  var metadataProblem: String?
  /// Every other key, unordered.
  var entries: [String: Entry] = [:]

  /// One tensor's fields, each `nil` when missing or of the wrong type.
  struct Entry: Decodable {
    var dtype: String?
    var shape: [Int]?
    var dataOffsets: [Int]?
    /// The first problem found, if any.
    var problem: String?

    init(from decoder: any Decoder) {
      guard let container = try? decoder.container(keyedBy: AnyCodingKey.self) else {
        problem = "entry is not a JSON object"
        return
      }
      var problem: String?
      func field<T: Decodable>(_ name: String, _ type: T.Type, _ expected: String) -> T? {
        let key = AnyCodingKey(name)
        guard container.contains(key) else {
          problem = problem ?? "entry has no \"\(name)\""
          return nil
        }
        guard let value = try? container.decode(T.self, forKey: key) else {
          problem = problem ?? "\"\(name)\" must be \(expected)"
          return nil
        }
        return value
      }
      dtype = field("dtype", String.self, "a string")
      shape = field("shape", [Int].self, "an array of integers")
      dataOffsets = field("data_offsets", [Int].self, "an array of two integers")
      self.problem = problem
    }
  }

  init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: AnyCodingKey.self)
    for key in container.allKeys {
      if key.stringValue == "__metadata__" {
        if (try? container.decodeNil(forKey: key)) == true { continue }
        if let metadata = try? container.decode([String: String].self, forKey: key) {
          self.metadata = metadata
        } else {
          metadataProblem = "\"__metadata__\" must be an object mapping strings to strings"
        }
      } else {
        entries[key.stringValue] = try container.decode(Entry.self, forKey: key)
      }
    }
  }

  /// Decodes header bytes, reporting problems as ``FormatError/invalidHeader(path:reason:)``.
  static func decode(_ bytes: [UInt8], path: String) throws -> SafetensorsHeaderJSON {
    guard isValidUTF8(bytes) else {
      throw FormatError.invalidHeader(path: path, reason: "header is not valid UTF-8")
    }
    let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
    guard bytes.first(where: { !isSpace($0) }) == UInt8(ascii: "{") else {
      throw FormatError.invalidHeader(path: path, reason: "header is not a JSON object")
    }
    do {
      return try JSONDecoder().decode(SafetensorsHeaderJSON.self, from: Data(bytes))
    } catch {
      // Entries and metadata record their own problems, so only a syntax error lands here.
      throw FormatError.invalidHeader(path: path, reason: "header is not valid JSON")
    }
  }

  /// Whether `bytes` is well-formed UTF-8.
  static func isValidUTF8(_ bytes: [UInt8]) -> Bool {
    var parser = Unicode.UTF8.ForwardParser()
    var iterator = bytes.makeIterator()
    while true {
      switch parser.parseScalar(from: &iterator) {
      case .valid: continue
      case .emptyInput: return true
      case .error: return false
      }
    }
  }
}
