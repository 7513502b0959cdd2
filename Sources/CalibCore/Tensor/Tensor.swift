/// A dense, row-major tensor of values in a model dtype: the value every observer and
/// quantizer works on.
///
/// ``dtype`` decides the arithmetic: an ``Observer`` fed a `.bfloat16` tensor computes
/// every operation as torch does on a bf16 tensor (see ``FloatDType``); a `.float32`
/// tensor (the default) is computed in float32. ``values`` are float32 and must be
/// exactly representable in ``dtype`` (checked in debug builds only): decode bf16 or f16
/// samples exactly, then tag them.
///
/// A tensor made from raw bf16 or f16 bits (``init(shape:bfloat16Bits:dtype:knownRange:)``,
/// ``init(shape:float16Bits:dtype:knownRange:)``) keeps them and decodes ``values`` only
/// when something first asks for them: min/max observers reduce the bits themselves, two
/// bytes per element instead of four.
///
/// For example:
/// ```swift
/// let t = Tensor(shape: [2, 3], values: [0, 1, 2, 3, 4, 5])
/// t.elementCount  // 6
/// let b = Tensor(shape: [2], values: [1, 0.5], dtype: .bfloat16)
/// let r = Tensor(shape: [2], bfloat16Bits: [0x3F80, 0x3F00], dtype: .bfloat16)  // same values
/// ```
public struct Tensor: Sendable, Equatable {
  /// The extent of each dimension, outermost first. A 0-d tensor has shape `[]`.
  public var shape: [Int]
  /// The dtype the values belong to, and so the dtype of arithmetic on them.
  public var dtype: FloatDType
  /// The minimum and maximum of all values, when whoever produced the values computed
  /// them on the way (a store decoding samples chunk by chunk, while each chunk is in
  /// cache): whole-tensor min/max observers then skip their own pass over the values.
  /// `nil` when unknown. Not part of equality.
  public private(set) var knownRange: ValueRange?
  private(set) var storage: Storage

  /// The elements in row-major order as float32; `values.count == shape.reduce(1, *)`.
  ///
  /// A tensor of bf16 or f16 bits decodes them on first use (once: copies of the tensor share
  /// the decoded array). Changing the values forgets ``knownRange`` and the bits.
  public var values: [Float] {
    get { storage.floats }
    _modify {
      var floats = storage.floats
      // Released first, so that `floats` is the array's only reference and changes in place.
      storage = .float32([], Self.nothingKept)
      knownRange = nil
      defer { storage = .float32(floats) }
      yield &floats
    }
    set {
      storage = .float32(newValue)
      knownRange = nil
    }
  }

  /// The placeholder's while `values` is modified in place (never kept in).
  private static let nothingKept = KeptRanges()

  /// The values' raw bf16 bits (host byte order), when the tensor was made from them;
  /// `nil` for a tensor made from float32 values, whatever its dtype.
  public var bfloat16Bits: [UInt16]? {
    if let (bits, format) = halfBits, format == .bfloat16 { return bits }
    return nil
  }

  /// The values' raw f16 bits (host byte order), when the tensor was made from them.
  public var float16Bits: [UInt16]? {
    if let (bits, format) = halfBits, format == .float16 { return bits }
    return nil
  }

  /// The values' FP8 E4M3FN bits, when the tensor was made from them (NVFP4's scales,
  /// from a min/max observer).
  public var float8E4M3Bits: [UInt8]? {
    if case .deferred(let payload) = storage, case .float8E4M3(let bits) = payload.source { return bits }
    return nil
  }

  /// The values' raw 16-bit bits and their format, when the tensor was made from them.
  var halfBits: (bits: [UInt16], format: HalfFormat)? {
    guard case .deferred(let payload) = storage, case .half(let bits, let format) = payload.source else { return nil }
    return (bits, format)
  }

  /// Creates a float32 tensor; traps when the element count does not match the shape.
  public init(shape: [Int], values: [Float]) {
    self.init(shape: shape, values: values, dtype: .float32)
  }

  /// Creates a tensor of a dtype; traps when the element count does not match the shape.
  ///
  /// Debug builds also trap when a value is not exactly representable in `dtype`.
  public init(shape: [Int], values: [Float], dtype: FloatDType) {
    Self.check(shape, count: values.count)
    assert(dtype == .float32 || values.allSatisfy(dtype.represents), "values not representable in \(dtype)")
    self.shape = shape
    self.storage = .float32(values)
    self.dtype = dtype
  }

  /// Creates a tensor whose range the caller has already computed.
  ///
  /// - Precondition: `range` is exactly `RangeReduction.minMax(values)`: the minimum and
  ///   maximum, both NaN when any value is NaN (checked in debug builds).
  public init(shape: [Int], values: [Float], dtype: FloatDType, knownRange range: ValueRange) {
    self.init(shape: shape, values: values, dtype: dtype)
    assert(range == ValueRange(RangeReduction.minMax(values, parallel: false)), "knownRange is not the values' range")
    knownRange = range
  }

  /// Creates a tensor of bf16 values from their raw bits, kept as they are and decoded
  /// to float32 only when ``values`` is first read.
  ///
  /// - Parameters:
  ///   - dtype: the arithmetic; `.bfloat16` or `.float32` (every bf16 value is a float32
  ///     value), not `.float16`.
  ///   - range: the values' range when the caller took it on the way (as for
  ///     ``init(shape:values:dtype:knownRange:)``).
  public init(shape: [Int], bfloat16Bits bits: [UInt16], dtype: FloatDType = .bfloat16, knownRange range: ValueRange? = nil) {
    self.init(shape: shape, halfBits: bits, .bfloat16, dtype: dtype, knownRange: range)
  }

  /// Creates a tensor of f16 values from their raw bits, as
  /// ``init(shape:bfloat16Bits:dtype:knownRange:)``; `dtype` is `.float16` or `.float32`
  /// (every f16 value is a float32 value), not `.bfloat16`.
  public init(shape: [Int], float16Bits bits: [UInt16], dtype: FloatDType = .float16, knownRange range: ValueRange? = nil) {
    self.init(shape: shape, halfBits: bits, .float16, dtype: dtype, knownRange: range)
  }

  /// Creates a tensor from raw bits of `format`, kept as they are and decoded to float32
  /// only when ``values`` is first read.
  ///
  /// - Precondition: `dtype` holds the format's values: float32 or the format's own dtype
  ///   (bf16 values are not float16 values, nor the reverse).
  public init(shape: [Int], halfBits bits: [UInt16], _ format: HalfFormat, dtype: FloatDType, knownRange range: ValueRange? = nil) {
    Self.check(shape, count: bits.count)
    switch format {
    case .bfloat16: precondition(dtype != .float16, "bf16 values are not float16 values")
    case .float16: precondition(dtype != .bfloat16, "f16 values are not bf16 values")
    }
    self.shape = shape
    self.storage = .deferred(DeferredValues(.half(bits, format)))
    self.dtype = dtype
    assert(range == nil || range == ValueRange(RangeReduction.minMax(storage.floats, parallel: false)), "knownRange is not the values' range")
    knownRange = range
  }

  private static func check(_ shape: [Int], count: Int) {
    precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
    precondition(shape.reduce(1, *) == count, "shape \(shape) needs \(shape.reduce(1, *)) values, got \(count)")
  }

  /// Equal shapes, dtypes and values (NaN unequal to itself, as for `[Float]`); how the
  /// values are stored and a known range do not count.
  public static func == (a: Tensor, b: Tensor) -> Bool {
    a.shape == b.shape && a.dtype == b.dtype && a.values == b.values
  }

  /// Creates a float32 tensor of the given shape filled with one value, which is written
  /// out only when ``values`` is first read.
  public init(shape: [Int], repeating value: Float) {
    let count = shape.reduce(1, *)
    Self.check(shape, count: count)
    self.shape = shape
    self.storage = .deferred(DeferredValues(.repeated(value, count: count)))
    self.dtype = .float32
  }

  /// Creates a tensor of FP8 E4M3FN values from their bits, kept as they are (a byte per
  /// value) and decoded exactly to float32 only when ``values`` is first read.
  ///
  /// - Parameter dtype: the arithmetic; every E4M3FN value is a bf16, f16 and float32
  ///   value. `0x7F` and `0xFF` decode to NaN.
  public init(shape: [Int], float8E4M3Bits bits: [UInt8], dtype: FloatDType = .float32) {
    Self.check(shape, count: bits.count)
    self.shape = shape
    self.storage = .deferred(DeferredValues(.float8E4M3(bits)))
    self.dtype = dtype
  }

  /// The number of elements, the product of the shape.
  public var elementCount: Int { storage.count }

  /// Whether the tensor holds no elements (for example an MoE expert that got no tokens).
  public var isEmpty: Bool { storage.count == 0 }
}
