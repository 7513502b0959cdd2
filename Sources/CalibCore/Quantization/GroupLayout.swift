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
    let total = shape.reduce(1, *)
    let strategy = args.strategy
    func whole() -> (Int, Int, Int, Int, Int, Int, Int, [Int]) {
      (1, 0, 0, 1, 0, total, 1, [1])
    }
    // (inner, outerStride, innerStride, runCount, runStride, runLength, count, qshape)
    var parts: (Int, Int, Int, Int, Int, Int, Int, [Int])
    var block: (rows: Int, cols: Int, height: Int, width: Int)?
    switch baseName {
    case .weight:
      if strategy == .tensor {
        parts = whole()
        break
      }
      guard shape.count == 2 else { throw LayoutError.rank(baseName, expected: 2, shape: shape) }
      let (rows, cols) = (shape[0], shape[1])
      switch strategy {
      case .tensor:
        parts = whole()
      case .channel:
        parts = (1, cols, 0, 1, 0, cols, rows, [rows, 1])
      case .group, .tensorGroup:
        let g = args.groupSize ?? 0
        guard g > 0, cols % g == 0 else {
          throw LayoutError.groupDoesNotDivide(groupSize: g, dimension: cols, shape: shape)
        }
        parts = (1, g, 0, 1, 0, g, rows * cols / g, [rows, cols / g])
      case .block:
        let b = args.blockStructure ?? [1, 1]
        let (bh, bw) = (b[0], b[1])
        let (nr, nc) = ((rows + bh - 1) / bh, (cols + bw - 1) / bw)
        parts = (nc, bh * cols, bw, bh, cols, bw, nr * nc, [nr, nc])
        block = (rows, cols, bh, bw)
      case .token, .attentionHead:
        throw LayoutError.unsupported(strategy, baseName)
      }
    case .input, .output:
      guard let hidden = shape.last else { throw LayoutError.rank(baseName, expected: 2, shape: shape) }
      switch strategy {
      case .tensor, .token:
        parts = whole()
      case .group, .tensorGroup:
        // The reference flattens the first two dimensions, then splits the last into
        // groups, and reduces over the first and last: a 2-D value (tokens, hidden)
        // becomes one range; (a, b, c…, hidden) keeps the middle dims.
        let g = args.groupSize ?? 0
        guard shape.count >= 2 else { throw LayoutError.rank(baseName, expected: 2, shape: shape) }
        guard g > 0, hidden % g == 0 else {
          throw LayoutError.groupDoesNotDivide(groupSize: g, dimension: hidden, shape: shape)
        }
        if shape.count == 2 {
          parts = whole()
        } else {
          let observations = shape[0] * shape[1]
          let middle = Array(shape[2..<(shape.count - 1)])
          let perObservation = total / Swift.max(observations, 1)
          let count = middle.reduce(1, *) * hidden / g
          parts = (1, g, 0, observations, perObservation, g, count, middle + [hidden / g])
        }
      case .channel, .block, .attentionHead:
        throw LayoutError.unsupported(strategy, baseName)
      }
    case .q, .k, .v:
      if strategy == .tensor {
        guard shape.count >= 3 else { throw LayoutError.rank(baseName, expected: 4, shape: shape) }
        parts = whole()
        break
      }
      guard shape.count == 4 else { throw LayoutError.rank(baseName, expected: 4, shape: shape) }
      let (batch, heads, seq, dim) = (shape[0], shape[1], shape[2], shape[3])
      switch strategy {
      case .attentionHead:
        parts = (1, seq * dim, 0, batch, heads * seq * dim, seq * dim, heads, [heads, 1, 1])
      default:
        throw LayoutError.unsupported(strategy, baseName)
      }
    }
    (inner, outerStride, innerStride, runCount, runStride, runLength, count, qparamShape) = parts
    self.block = block
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

  /// Whether the layout has one parameter made of all `elementCount` elements in one run
  /// (TENSOR strategy, or any shape reduced whole), so its range is the value's range.
  func isWholeValue(of elementCount: Int) -> Bool {
    count == 1 && block == nil && runCount == 1 && inner == 1 && runLength == elementCount
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
