extension ValueRange {
  /// The range of bf16 values given as their raw bits (in the host's byte order, at any
  /// alignment), reduced without widening them to float32 (``BFloat16Order``).
  ///
  /// Returns `nil` where the float reduction (``init(of:)``) must decide: when a value is
  /// NaN, or when the minimum or the maximum is a zero. Otherwise the result equals
  /// ``init(of:)`` on the values. No values give ``empty``.
  public init?(bfloat16Bits bytes: UnsafeRawBufferPointer) {
    let count = bytes.count / 2
    guard let raw = bytes.baseAddress, count > 0 else {
      self = .empty
      return
    }
    let (low, high) = BFloat16Order.keyRange(raw, count: count)
    guard let range = BFloat16Order.range(low: low, high: high, .bfloat16) else { return nil }
    self = range
  }
}

extension ValueRange {
  /// The range of bf16 or f16 values given as their bits: from the bits where they decide
  /// it (``BFloat16Order``'s keys order both formats), otherwise by the float reduction of
  /// the decoded values. Equal to ``init(of:)`` on the decoded values.
  public init(ofHalfBits bits: UnsafeBufferPointer<UInt16>, _ format: HalfFormat) {
    guard let base = bits.baseAddress, !bits.isEmpty else {
      self = .empty
      return
    }
    self.init(RangeReduction.run(halfBits: base, format, bits.count))
  }
}
