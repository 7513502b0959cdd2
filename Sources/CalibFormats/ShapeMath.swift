/// Overflow-checked element and byte counts for shapes read from untrusted files.
enum ShapeMath {
  /// The element and byte counts of `shape` with `byteWidth`-byte elements, or `nil` when a
  /// dimension is negative or any running product (as `Tensor` computes it) overflows `Int`.
  static func counts(of shape: [Int], byteWidth: Int) -> (elements: Int, bytes: Int)? {
    var elements = 1
    for dimension in shape {
      guard dimension >= 0 else { return nil }
      let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
      guard !overflow else { return nil }
      elements = product
    }
    let (bytes, overflow) = elements.multipliedReportingOverflow(by: byteWidth)
    guard !overflow else { return nil }
    return (elements, bytes)
  }
}
