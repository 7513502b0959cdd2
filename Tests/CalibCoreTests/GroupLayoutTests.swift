import CalibCore
import Foundation
import Testing

// GroupLayout against llm-compressor 0.10.0 `flatten_for_calibration`. The reference side:
//   from llmcompressor.observers.helpers import flatten_for_calibration
//   x = torch.arange(1, 1 + n, dtype=torch.float32).reshape(shape)
//   f = flatten_for_calibration(x, base, QuantizationArgs(**args))
//   mn = torch.amin(f, dim=(0, -1))      # -> qparam shape and per-parameter minimum
// (or the error it raises).

/// One (base name, shape, arguments) and the reference's qparam shape and minima of
/// `arange(1, n + 1)`, or the error CalibCore must raise.
struct LayoutCase: Sendable, CustomTestStringConvertible {
  let base: BaseName
  let shape: [Int]
  let args: String
  var qparamShape: [Int]? = nil
  var minima: [Float]? = nil
  var error: LayoutError? = nil
  var testDescription: String { "\(base.rawValue) \(shape) \(args)" }
}

@Suite struct GroupLayoutTests {
  static let tensor = #"{"strategy":"tensor"}"#
  static let channel = #"{"strategy":"channel"}"#
  static let group = #"{"strategy":"group","group_size":4}"#
  static let tensorGroup = #"{"strategy":"tensor_group","group_size":4}"#
  static let block = #"{"strategy":"block","block_structure":[2,3]}"#
  static let token = #"{"strategy":"token","dynamic":true}"#
  static let head = #"{"strategy":"attn_head"}"#

  static let cases: [LayoutCase] = {
    var cases: [LayoutCase] = [
      // weight (4, 8)
      LayoutCase(base: .weight, shape: [4, 8], args: tensor, qparamShape: [1], minima: [1]),
      LayoutCase(base: .weight, shape: [4, 8], args: channel, qparamShape: [4, 1], minima: [1, 9, 17, 25]),
      LayoutCase(
        base: .weight, shape: [4, 8], args: group, qparamShape: [4, 2], minima: [1, 5, 9, 13, 17, 21, 25, 29]),
      LayoutCase(
        base: .weight, shape: [4, 8], args: tensorGroup, qparamShape: [4, 2],
        minima: [1, 5, 9, 13, 17, 21, 25, 29]),
      // zero padding puts a 0 into the ragged right-hand blocks
      LayoutCase(base: .weight, shape: [4, 8], args: block, qparamShape: [2, 3], minima: [1, 4, 0, 17, 20, 0]),
      LayoutCase(base: .weight, shape: [4, 8], args: token, error: .unsupported(.token, .weight)),
      LayoutCase(base: .weight, shape: [4, 8], args: head, error: .unsupported(.attentionHead, .weight)),
      LayoutCase(
        base: .weight, shape: [5, 7], args: block, qparamShape: [3, 3], minima: [1, 4, 0, 15, 18, 0, 0, 0, 0]),
      // group sizes that do not divide (also C < g): unflatten raises RuntimeError
      LayoutCase(
        base: .weight, shape: [4, 6], args: group, error: .groupDoesNotDivide(groupSize: 4, dimension: 6, shape: [4, 6])),
      LayoutCase(
        base: .weight, shape: [4, 2], args: group, error: .groupDoesNotDivide(groupSize: 4, dimension: 2, shape: [4, 2])),
      LayoutCase(
        base: .weight, shape: [4, 6], args: tensorGroup,
        error: .groupDoesNotDivide(groupSize: 4, dimension: 6, shape: [4, 6])),
      LayoutCase(
        base: .input, shape: [2, 3, 6], args: group,
        error: .groupDoesNotDivide(groupSize: 4, dimension: 6, shape: [2, 3, 6])),
      LayoutCase(
        base: .output, shape: [2, 3, 6], args: tensorGroup,
        error: .groupDoesNotDivide(groupSize: 4, dimension: 6, shape: [2, 3, 6])),
      LayoutCase(base: .input, shape: [6, 8], args: tensor, qparamShape: [1], minima: [1]),
      LayoutCase(base: .input, shape: [8], args: tensor, qparamShape: [1], minima: [1]),
    ]
    for base in [BaseName.input, .output] {
      cases += [
        LayoutCase(base: base, shape: [2, 3, 8], args: tensor, qparamShape: [1], minima: [1]),
        LayoutCase(base: base, shape: [2, 3, 8], args: group, qparamShape: [2], minima: [1, 5]),
        LayoutCase(base: base, shape: [2, 3, 8], args: tensorGroup, qparamShape: [2], minima: [1, 5]),
        LayoutCase(base: base, shape: [2, 3, 8], args: channel, error: .unsupported(.channel, base)),
        LayoutCase(base: base, shape: [2, 3, 8], args: block, error: .unsupported(.block, base)),
        LayoutCase(base: base, shape: [2, 3, 8], args: head, error: .unsupported(.attentionHead, base)),
      ]
    }
    for base in [BaseName.q, .k, .v] {
      cases += [
        LayoutCase(base: base, shape: [2, 3, 5, 4], args: tensor, qparamShape: [1], minima: [1]),
        LayoutCase(base: base, shape: [2, 3, 5, 4], args: head, qparamShape: [3, 1, 1], minima: [1, 21, 41]),
        LayoutCase(base: base, shape: [2, 3, 5, 4], args: channel, error: .unsupported(.channel, base)),
        LayoutCase(base: base, shape: [2, 3, 5, 4], args: group, error: .unsupported(.group, base)),
        LayoutCase(base: base, shape: [2, 3, 5, 4], args: tensorGroup, error: .unsupported(.tensorGroup, base)),
        LayoutCase(base: base, shape: [2, 3, 5, 4], args: block, error: .unsupported(.block, base)),
        LayoutCase(base: base, shape: [2, 3, 5, 4], args: token, error: .unsupported(.token, base)),
      ]
    }
    return cases
  }()

  @Test(arguments: cases)
  func layoutMatchesTheReference(_ c: LayoutCase) throws {
    let args = try decodeArgs(c.args)
    if let error = c.error {
      #expect(throws: error) { try GroupLayout(shape: c.shape, baseName: c.base, args: args) }
      return
    }
    let layout = try GroupLayout(shape: c.shape, baseName: c.base, args: args)
    #expect(layout.qparamShape == c.qparamShape)
    #expect(layout.count == c.qparamShape?.reduce(1, *))
    let n = c.shape.reduce(1, *)
    let values = (1...n).map { Float($0) }
    let (mins, _) = RangeReduction.minMax(values, layout: layout)
    #expect(mins == c.minima)
  }

  @Test(arguments: cases.filter { $0.error == nil })
  func runsPartitionTheValue(_ c: LayoutCase) throws {
    // Every element belongs to exactly one parameter (BLOCK edges are shortened, not padded).
    let layout = try GroupLayout(shape: c.shape, baseName: c.base, args: decodeArgs(c.args))
    var hits = [Int](repeating: 0, count: c.shape.reduce(1, *))
    for q in 0..<layout.count {
      layout.forEachRun(of: q) { start, length in
        for i in start..<(start + length) { hits[i] += 1 }
      }
    }
    #expect(hits.allSatisfy { $0 == 1 })
  }

  @Test func rangesOfAttentionHeadsAndBlocks() throws {
    // x = torch.arange(1, 121, dtype=torch.float32).reshape(2, 3, 5, 4)
    // torch.amax(flatten_for_calibration(x, "q", attn_head args), dim=(0, -1)).flatten()
    //   -> [80, 100, 120]
    let x = (1...120).map { Float($0) }
    let heads = try GroupLayout(shape: [2, 3, 5, 4], baseName: .q, args: decodeArgs(Self.head))
    #expect(RangeReduction.minMax(x, layout: heads).1 == [80, 100, 120])
    // w = torch.arange(1, 36).reshape(5, 7), block [2, 3]: amax -> [10, 13, 14, 24, 27, 28, 31, 34, 35]
    let blocks = try GroupLayout(shape: [5, 7], baseName: .weight, args: decodeArgs(Self.block))
    #expect(RangeReduction.minMax(Array(x.prefix(35)), layout: blocks).1 == [10, 13, 14, 24, 27, 28, 31, 34, 35])
  }

  struct PaddingCase: Sendable, CustomTestStringConvertible {
    let rows: Int
    let cols: Int
    let padRows: Int
    let padCols: Int
    var testDescription: String { "(\(rows), \(cols))" }
  }

  // §8.1 item 6: calculate_block_padding((rows, cols), (128, 128)) -> (pad_r, pad_c)
  @Test(arguments: [
    PaddingCase(rows: 10944, cols: 2048, padRows: 64, padCols: 0),
    PaddingCase(rows: 100, cols: 200, padRows: 28, padCols: 56),
    PaddingCase(rows: 300, cols: 256, padRows: 84, padCols: 0),
    PaddingCase(rows: 256, cols: 300, padRows: 0, padCols: 84),
    PaddingCase(rows: 256, cols: 384, padRows: 0, padCols: 0),
    PaddingCase(rows: 100, cols: 100, padRows: 28, padCols: 28),
  ])
  func blockPadding(_ c: PaddingCase) throws {
    let args = try QuantizationArgs(numBits: 8, type: .float, strategy: .block, blockStructure: [128, 128])
    let layout = try GroupLayout(shape: [c.rows, c.cols], baseName: .weight, args: args)
    let blockRows = (c.rows + c.padRows) / 128
    let blockCols = (c.cols + c.padCols) / 128
    #expect(layout.qparamShape == [blockRows, blockCols])
    // The bottom row of blocks is padded iff pad_r > 0, the right column iff pad_c > 0.
    let bottomLeft = (blockRows - 1) * blockCols
    let topRight = blockCols - 1
    let bottomLeftPadded = layout.forEachRun(of: bottomLeft) { _, _ in }
    let topRightPadded = layout.forEachRun(of: topRight) { _, _ in }
    let topLeftPadded = layout.forEachRun(of: 0) { _, _ in }
    #expect(bottomLeftPadded == (c.padRows > 0 || (blockCols == 1 && c.padCols > 0)))
    #expect(topRightPadded == (c.padCols > 0 || (blockRows == 1 && c.padRows > 0)))
    #expect(topLeftPadded == ((blockRows == 1 && c.padRows > 0) || (blockCols == 1 && c.padCols > 0)))
    var elements = 0
    layout.forEachRun(of: layout.count - 1) { _, length in elements += length }
    #expect(elements == (128 - c.padRows) * (128 - c.padCols))
  }

  @Test func rankErrorsNameTheShape() throws {
    #expect(throws: LayoutError.rank(.q, expected: 4, shape: [2, 3, 4])) {
      try GroupLayout(shape: [2, 3, 4], baseName: .q, args: decodeArgs(Self.head))
    }
    #expect(throws: LayoutError.rank(.weight, expected: 2, shape: [8])) {
      try GroupLayout(shape: [8], baseName: .weight, args: decodeArgs(Self.channel))
    }
    let description = LayoutError.groupDoesNotDivide(groupSize: 4, dimension: 6, shape: [4, 6]).description
    #expect(description.contains("group_size 4") && description.contains("6"))
  }

  // MARK: - Places where CalibCore and lc 0.10.0 disagree

  @Test func groupedActivationsThatAreNot3D() throws {
    // _flatten_activation does value.flatten(0, 1).unflatten(-1, (-1, g)), which only keeps
    // the hidden dimension for 3-D values:
    //   input (6, 8), group 4        -> flattened (12, 4), amin shape []      (one range)
    //   input (2, 2, 3, 8), group 4  -> flattened (4, 3, 2, 4), amin shape [3, 2]
    let args = try decodeArgs(Self.group)
    let twoD = try GroupLayout(shape: [6, 8], baseName: .input, args: args)
    let fourD = try GroupLayout(shape: [2, 2, 3, 8], baseName: .input, args: args)
    #expect(twoD.count == 1, "2-D: ours \(twoD.qparamShape)")
    #expect(fourD.qparamShape == [3, 2], "4-D: ours \(fourD.qparamShape)")
  }

  @Test func tokenObserverLayoutOfActivations() throws {
    // _flatten_activation returns a TOKEN value unchanged, so an observer reduces dims
    // (0, -1) of (2, 3, 8): amin shape [3], minima [1, 9, 17]. TOKEN must be dynamic, so
    // llm-compressor never observes it; CalibCore deliberately uses one range here, the
    // per-tensor reduction a dynamic token scale would fall back to.
    let layout = try GroupLayout(shape: [2, 3, 8], baseName: .input, args: decodeArgs(Self.token))
    #expect(layout.qparamShape == [1])
  }

  @Test func nonMatrixShapesTheReferenceFlattens() throws {
    // flatten_for_calibration accepts these (TENSOR reshapes anything):
    //   weight (2, 3, 4) tensor -> [1]; weight (8,) tensor -> [1]; q (2, 3, 4) tensor -> []
    let tensorArgs = try decodeArgs(Self.tensor)
    #expect(try GroupLayout(shape: [2, 3, 4], baseName: .weight, args: tensorArgs).qparamShape == [1])
    #expect(try GroupLayout(shape: [8], baseName: .weight, args: tensorArgs).qparamShape == [1])
    #expect(try GroupLayout(shape: [2, 3, 4], baseName: .q, args: tensorArgs).qparamShape == [1])
  }

  @Test func oneDimensionalGroupedActivation() throws {
    // input (8,), group 4: value.flatten(0, 1) raises IndexError in the reference.
    #expect(throws: LayoutError.self) {
      try GroupLayout(shape: [8], baseName: .input, args: decodeArgs(Self.group))
    }
  }
}
