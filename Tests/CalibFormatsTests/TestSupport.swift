import CalibFormats
import Foundation
import Testing

/// Helpers shared by the format tests: temporary directories, file building, error checks.
enum TestSupport {
  /// Runs `body` with a fresh temporary directory that is removed afterwards.
  static func withTemporaryDirectory<R>(_ body: (String) throws -> R) throws -> R {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("CalibFormatsTests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(
      atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    return try body(directory)
  }

  /// Writes `bytes` to `name` inside `directory` and returns the file's path.
  @discardableResult
  static func write(_ bytes: [UInt8], to name: String, in directory: String) throws -> String {
    let path = directory + "/" + name
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
  }

  /// The bytes of a safetensors file with the given header text and data section.
  ///
  /// `declaredLength` overrides the 8-byte length prefix (defaults to the header's length).
  static func safetensors(
    header: String, data: [UInt8] = [], declaredLength: UInt64? = nil
  ) -> [UInt8] {
    safetensors(headerBytes: Array(header.utf8), data: data, declaredLength: declaredLength)
  }

  /// The bytes of a safetensors file with raw header bytes and a data section.
  static func safetensors(
    headerBytes: [UInt8], data: [UInt8] = [], declaredLength: UInt64? = nil
  ) -> [UInt8] {
    littleEndian(declaredLength ?? UInt64(headerBytes.count)) + headerBytes + data
  }

  /// The eight little-endian bytes of `value`.
  static func littleEndian(_ value: UInt64) -> [UInt8] {
    (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
  }

  /// Asserts that `body` throws exactly `expected`, whose one-line description mentions every
  /// string in `fragments`.
  static func expectError(
    _ expected: FormatError, mentioning fragments: [String],
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Void
  ) {
    do {
      try body()
      Issue.record("expected \(expected), got no error", sourceLocation: sourceLocation)
    } catch let error as FormatError {
      #expect(error == expected, sourceLocation: sourceLocation)
      let text = error.description
      for fragment in fragments {
        #expect(text.contains(fragment), "\(text)", sourceLocation: sourceLocation)
      }
      #expect(!text.contains("\n"), sourceLocation: sourceLocation)
    } catch {
      Issue.record("expected \(expected), got \(error)", sourceLocation: sourceLocation)
    }
  }
}
