/// The running histogram of a histogram-based peer observer (onnxruntime's
/// `HistogramCollector` entry for one tensor): bin counts, bin edges, the data's signed
/// minimum and maximum so far and, for histograms of signed values, the symmetric
/// threshold the edges span.
///
/// Stored per step with the observer's state so that a recording can resume and
/// `show --steps` can report it; ``encoded()`` is its little-endian blob.
///
/// For example:
/// ```swift
/// let h = CalibrationHistogram(counts: [1, 2], edges: [-1, 0, 1], minimum: -1, maximum: 1, threshold: 1)
/// let same = try CalibrationHistogram(decoding: h.encoded())
/// ```
public struct CalibrationHistogram: Sendable, Equatable, Codable {
  /// Count per bin (NumPy's int64 counts).
  public var counts: [Int64]
  /// Ascending edges, float32 as the source stores them: `counts.count + 1` of them,
  /// except where the source's own edges and counts disagree (modelopt's grown
  /// histograms, whose `torch.arange` edges can number one more or fewer).
  public var edges: [Float]
  /// Smallest signed value observed.
  public var minimum: Float
  /// Largest signed value observed.
  public var maximum: Float
  /// Half-width of the symmetric range `[-threshold, threshold]` the edges cover, for
  /// histograms of signed values (`collect_value`); `nil` for histograms of |x|.
  public var threshold: Float?

  public init(counts: [Int64], edges: [Float], minimum: Float, maximum: Float, threshold: Float?) {
    precondition(edges.count >= 2 || counts.isEmpty, "a histogram needs at least two edges, got \(edges.count)")
    self.counts = counts
    self.edges = edges
    self.minimum = minimum
    self.maximum = maximum
    self.threshold = threshold
  }

  private static let magic: [UInt8] = Array("CHST".utf8)
  private static let version: UInt8 = 1

  /// The blob: `"CHST"`, version 1, a flag byte (1 when ``threshold`` is present), the
  /// bin count and the edge count as UInt32, then minimum, maximum, threshold (0 when
  /// absent) as Float32, the counts as Int64 and the edges as Float32 — all
  /// little-endian.
  public func encoded() -> [UInt8] {
    var out = Self.magic
    out.reserveCapacity(4 + 2 + 8 + 12 + counts.count * 8 + edges.count * 4)
    out.append(Self.version)
    out.append(threshold == nil ? 0 : 1)
    Self.append(UInt32(counts.count), to: &out)
    Self.append(UInt32(edges.count), to: &out)
    for f in [minimum, maximum, threshold ?? 0] { Self.append(f.bitPattern, to: &out) }
    for c in counts { Self.append(UInt64(bitPattern: c), to: &out) }
    for e in edges { Self.append(e.bitPattern, to: &out) }
    return out
  }

  /// Decodes ``encoded()``.
  ///
  /// - Throws: ``HistogramDecodingError`` for a blob of another format or length.
  public init(decoding bytes: [UInt8]) throws {
    guard bytes.count >= 26, Array(bytes[0..<4]) == Self.magic else { throw HistogramDecodingError(reason: "not a histogram blob") }
    guard bytes[4] == Self.version else { throw HistogramDecodingError(reason: "unknown histogram version \(bytes[4])") }
    let hasThreshold = bytes[5] == 1
    var offset = 6
    func read<T: FixedWidthInteger>(_: T.Type) -> T {
      var v: T = 0
      for k in 0..<MemoryLayout<T>.size { v |= T(truncatingIfNeeded: bytes[offset + k]) << (8 * k) }
      offset += MemoryLayout<T>.size
      return v
    }
    let bins = Int(read(UInt32.self))
    let edgeCount = Int(read(UInt32.self))
    let size = 26 + bins * 8 + edgeCount * 4
    guard bytes.count == size, edgeCount >= 2 || bins == 0 else {
      throw HistogramDecodingError(reason: "\(bins) bins and \(edgeCount) edges need \(size) bytes, got \(bytes.count)")
    }
    let mn = Float(bitPattern: read(UInt32.self))
    let mx = Float(bitPattern: read(UInt32.self))
    let t = Float(bitPattern: read(UInt32.self))
    let counts = (0..<bins).map { _ in Int64(bitPattern: read(UInt64.self)) }
    let edges = (0..<edgeCount).map { _ in Float(bitPattern: read(UInt32.self)) }
    self.init(counts: counts, edges: edges, minimum: mn, maximum: mx, threshold: hasThreshold ? t : nil)
  }

  private static func append<T: FixedWidthInteger>(_ v: T, to out: inout [UInt8]) {
    for k in 0..<MemoryLayout<T>.size { out.append(UInt8(truncatingIfNeeded: v >> (8 * k))) }
  }
}

/// A stored histogram blob that cannot be read.
public struct HistogramDecodingError: Error, Equatable, CustomStringConvertible {
  public let reason: String
  public var description: String { "corrupt histogram state: \(reason)" }
}
