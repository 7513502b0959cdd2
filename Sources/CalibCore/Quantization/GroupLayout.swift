/// Which elements of a tensor share each quantization parameter: llm-compressor's
/// `flatten_for_calibration` without the copy.
///
/// The reference reshapes a value to `(num_observations, *qparam_shape, group_len)` and
/// reduces over the first and last dimensions. Here each parameter index `q` owns a set
/// of contiguous runs of the row-major source:
///
/// ```
/// start(q, r) = (q / inner) · outerStride + (q % inner) · innerStride + r · runStride
/// ```
/// for `r` in `0..<runCount`, each `runLength` long. Ragged BLOCK edges are shortened and
/// flagged as padded: the reference pads them with zeros, which only ever add a 0 to the
/// range (and 0 is always representable, so no parameter changes).
///
/// ```
/// base      strategy        value shape       qparam shape   runs per q
/// weight    tensor          (R, C)            (1,)           1 × R·C
/// weight    channel         (R, C)            (R, 1)         1 × C
/// weight    group/t_group   (R, C)            (R, C/g)       1 × g
/// weight    block [bh, bw]  (R, C)            (⌈R/bh⌉,⌈C/bw⌉) bh × bw
/// act       tensor          (..., H)          (1,)           1 × all
/// act       group/t_group   (T, H)            (1,)           1 × all
/// act       group/t_group   (B, S, …, H)      (…, H/g)       B·S × g
/// q/k/v     tensor          (B, nH, S, D)     (1,)           1 × all
/// q/k/v     attn_head       (B, nH, S, D)     (nH, 1, 1)     B × S·D
/// ```
public struct GroupLayout: Sendable, Equatable {
  /// The shape of the scale, zero point, min and max tensors.
  public let qparamShape: [Int]
  /// The number of quantization parameters, the product of ``qparamShape``.
  public let count: Int
  let inner: Int
  let outerStride: Int
  let innerStride: Int
  let runCount: Int
  let runStride: Int
  let runLength: Int
  /// BLOCK only: the unpadded (rows, cols) and block (height, width).
  let block: (rows: Int, cols: Int, height: Int, width: Int)?

  public static func == (a: Self, b: Self) -> Bool {
    a.qparamShape == b.qparamShape && a.inner == b.inner && a.outerStride == b.outerStride
      && a.innerStride == b.innerStride && a.runCount == b.runCount && a.runStride == b.runStride
      && a.runLength == b.runLength && a.block?.rows == b.block?.rows
      && a.block?.cols == b.block?.cols && a.block?.height == b.block?.height
      && a.block?.width == b.block?.width
  }

  /// The layout for observing a value of `shape` as `baseName` under `args`.
  ///
  /// - Throws: ``LayoutError`` for combinations the reference rejects (token or attn_head
  ///   weights, channel or block activations, grouped attention states, a group size that
  ///   does not divide the last dimension, a shape of the wrong rank).
  public init(shape: [Int], baseName: BaseName, args: QuantizationArgs) throws {
    let parts: Parts
    switch baseName {
    case .weight: parts = try Self.weightParts(shape: shape, args: args)
    case .input, .output: parts = try Self.activationParts(shape: shape, baseName: baseName, args: args)
    case .q, .k, .v: parts = try Self.attentionParts(shape: shape, baseName: baseName, strategy: args.strategy)
    }
    inner = parts.inner
    outerStride = parts.outerStride
    innerStride = parts.innerStride
    runCount = parts.runCount
    runStride = parts.runStride
    runLength = parts.runLength
    count = parts.count
    qparamShape = parts.qparamShape
    block = parts.block
  }

  /// Calls `body(start, length)` for each contiguous run of parameter `q`, and returns
  /// whether `q` is a zero-padded BLOCK edge.
  @discardableResult
  public func forEachRun(of q: Int, _ body: (_ start: Int, _ length: Int) -> Void) -> Bool {
    let base = (q / inner) * outerStride + (q % inner) * innerStride
    var runs = runCount
    var length = runLength
    var padded = false
    if let b = block {
      let (i, j) = (q / inner, q % inner)
      runs = Swift.min(b.height, b.rows - i * b.height)
      length = Swift.min(b.width, b.cols - j * b.width)
      padded = runs < b.height || length < b.width
    }
    for r in 0..<runs { body(base + r * runStride, length) }
    return padded
  }

  /// Whether parameter `q` owns exactly one contiguous run, `runLength` long from
  /// `q · outerStride` (tensor, channel and group layouts), so kernels can walk the
  /// parameters at a constant stride.
  var isStridedRuns: Bool { block == nil && runCount == 1 && inner == 1 }

  /// Whether parameter q is the `length` elements from `q · length` on: contiguous runs
  /// one after another (NVFP4's groups of a weight's or an activation's rows).
  func isContiguousRuns(of length: Int) -> Bool { isStridedRuns && runLength == length && outerStride == length }

  /// Whether the layout has one parameter made of all `elementCount` elements in one run
  /// (TENSOR strategy, or any shape reduced whole), so its range is the value's range.
  func isWholeValue(of elementCount: Int) -> Bool {
    count == 1 && isStridedRuns && runLength == elementCount
  }
}

/// A value whose shape cannot be observed with the given strategy.
public enum LayoutError: Error, Equatable, CustomStringConvertible {
  case unsupported(QuantizationStrategy, BaseName)
  case groupDoesNotDivide(groupSize: Int, dimension: Int, shape: [Int])
  case rank(BaseName, expected: Int, shape: [Int])

  public var description: String {
    switch self {
    case .unsupported(let s, let b):
      "strategy '\(s.rawValue)' cannot be applied to \(b.rawValue): choose a strategy the reference supports for it"
    case .groupDoesNotDivide(let g, let d, let shape):
      "group_size \(g) does not divide the last dimension \(d) of shape \(shape): choose a group_size that divides it, or ignore this module"
    case .rank(let b, let expected, let shape):
      "a \(b.rawValue) value needs \(expected) dimensions, got shape \(shape): check the sample key and its base name"
    }
  }
}

// MARK: - Layouts by base name

extension GroupLayout {
  /// The stored properties of a layout, computed for one base name.
  private struct Parts {
    var inner: Int
    var outerStride: Int
    var innerStride: Int
    var runCount: Int
    var runStride: Int
    var runLength: Int
    var count: Int
    var qparamShape: [Int]
    var block: (rows: Int, cols: Int, height: Int, width: Int)? = nil

    /// One parameter over all `total` elements, as a single run.
    static func whole(_ total: Int) -> Parts {
      Parts(
        inner: 1, outerStride: 0, innerStride: 0, runCount: 1, runStride: 0, runLength: total,
        count: 1, qparamShape: [1])
    }
  }

  /// A weight `(rows, cols)`: per tensor, channel (row), group of columns or 2-D block.
  private static func weightParts(shape: [Int], args: QuantizationArgs) throws -> Parts {
    let strategy = args.strategy
    if strategy == .tensor { return .whole(shape.reduce(1, *)) }
    guard shape.count == 2 else { throw LayoutError.rank(.weight, expected: 2, shape: shape) }
    let (rows, cols) = (shape[0], shape[1])
    switch strategy {
    case .tensor:
      return .whole(rows * cols)
    case .channel:
      return Parts(
        inner: 1, outerStride: cols, innerStride: 0, runCount: 1, runStride: 0, runLength: cols,
        count: rows, qparamShape: [rows, 1])
    case .group, .tensorGroup:
      let g = args.groupSize ?? 0
      guard g > 0, cols % g == 0 else {
        throw LayoutError.groupDoesNotDivide(groupSize: g, dimension: cols, shape: shape)
      }
      return Parts(
        inner: 1, outerStride: g, innerStride: 0, runCount: 1, runStride: 0, runLength: g,
        count: rows * cols / g, qparamShape: [rows, cols / g])
    case .block:
      let b = args.blockStructure ?? [1, 1]
      let (bh, bw) = (b[0], b[1])
      let (nr, nc) = ((rows + bh - 1) / bh, (cols + bw - 1) / bw)
      return Parts(
        inner: nc, outerStride: bh * cols, innerStride: bw, runCount: bh, runStride: cols,
        runLength: bw, count: nr * nc, qparamShape: [nr, nc], block: (rows, cols, bh, bw))
    case .token, .attentionHead:
      throw LayoutError.unsupported(strategy, .weight)
    }
  }

  /// An input or output activation `(..., hidden)`: per tensor or token (one range), or
  /// groups of the hidden dimension.
  private static func activationParts(shape: [Int], baseName: BaseName, args: QuantizationArgs) throws
    -> Parts
  {
    let strategy = args.strategy
    guard let hidden = shape.last else { throw LayoutError.rank(baseName, expected: 2, shape: shape) }
    switch strategy {
    case .tensor, .token:
      return .whole(shape.reduce(1, *))
    case .group, .tensorGroup:
      // The reference flattens the first two dimensions, then splits the last into
      // groups, and reduces over the first and last: a 2-D value (tokens, hidden)
      // becomes one range; (a, b, c…, hidden) keeps the middle dims.
      let g = args.groupSize ?? 0
      guard shape.count >= 2 else { throw LayoutError.rank(baseName, expected: 2, shape: shape) }
      guard g > 0, hidden % g == 0 else {
        throw LayoutError.groupDoesNotDivide(groupSize: g, dimension: hidden, shape: shape)
      }
      let total = shape.reduce(1, *)
      if shape.count == 2 { return .whole(total) }
      let observations = shape[0] * shape[1]
      let middle = Array(shape[2..<(shape.count - 1)])
      return Parts(
        inner: 1, outerStride: g, innerStride: 0, runCount: observations,
        runStride: total / Swift.max(observations, 1), runLength: g,
        count: middle.reduce(1, *) * hidden / g, qparamShape: middle + [hidden / g])
    case .channel, .block, .attentionHead:
      throw LayoutError.unsupported(strategy, baseName)
    }
  }

  /// An attention state `(batch, heads, seq, dim)`: per tensor or per head.
  private static func attentionParts(shape: [Int], baseName: BaseName, strategy: QuantizationStrategy)
    throws -> Parts
  {
    if strategy == .tensor {
      guard shape.count >= 3 else { throw LayoutError.rank(baseName, expected: 4, shape: shape) }
      return .whole(shape.reduce(1, *))
    }
    guard shape.count == 4 else { throw LayoutError.rank(baseName, expected: 4, shape: shape) }
    let (batch, heads, seq, dim) = (shape[0], shape[1], shape[2], shape[3])
    guard strategy == .attentionHead else { throw LayoutError.unsupported(strategy, baseName) }
    return Parts(
      inner: 1, outerStride: seq * dim, innerStride: 0, runCount: batch,
      runStride: heads * seq * dim, runLength: seq * dim, count: heads, qparamShape: [heads, 1, 1])
  }
}
