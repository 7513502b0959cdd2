import CalibCore
import Foundation

extension JSONValue {
  /// compressed-tensors' JSON of quantization arguments, as `QuantizationArgs` encodes it
  /// (keys sorted), or null.
  static func arguments(_ args: QuantizationArgs?) -> JSONValue {
    guard let args, let data = try? Self.encoder.encode(args) else { return .null }
    return .raw(String(decoding: data, as: UTF8.self))
  }

  /// Stored arguments JSON, re-encoded so that only valid arguments are shown; null
  /// for text that does not decode.
  static func arguments(_ storedJSON: String?) -> JSONValue {
    arguments(storedJSON.flatMap { try? JSONDecoder().decode(QuantizationArgs.self, from: Data($0.utf8)) })
  }

  private static var encoder: JSONEncoder {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return e
  }
}
