/// Where a module is in the calibration lifecycle (compressed-tensors'
/// `QuantizationStatus`, the part calibration uses).
public enum QuantizationStatus: Int, Sendable, Comparable, Codable {
  case initialized, calibration, frozen

  public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}
