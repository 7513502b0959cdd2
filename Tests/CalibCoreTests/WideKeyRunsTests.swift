import CalibKernels
import Testing

@testable import CalibCore

/// `calib_half_key_runs` and `calib_bf16_key_range` (bf16 and f16), at every width this
/// CPU runs, against the portable key loops and against plain float min/max.
@Suite struct WideKeyRunsTests {
  /// (length, stride): with AVX-512, 16 takes the loop for NVFP4's groups, 64, 128 and
  /// 256 the unrolled one, the others the general one.
  @Test(
    .needsAVX2,
    arguments: [
      (16, 16), (16, 24), (32, 32), (48, 64), (64, 64), (64, 72), (128, 128), (128, 160), (256, 256), (1024, 1040),
    ], [8, 16, 17, 35, 64 + 9])
  func keyRunsAgreeWithThePortableLoops(shape: (length: Int, stride: Int), runs: Int) throws {
    for format in [HalfFormat.bfloat16, .float16] {
      try keyRunsAgreeWithThePortableLoops(shape: shape, runs: runs, format: format)
    }
  }

  private func keyRunsAgreeWithThePortableLoops(shape: (length: Int, stride: Int), runs: Int, format: HalfFormat) throws {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(runs &* shape.length &+ shape.stride)
    func next() -> UInt64 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return state >> 33
    }
    // Finite, nonzero values of both signs and every magnitude, ±∞ among them.
    func value() -> UInt16 {
      let sign = UInt16(next() % 2) << 15
      let magnitude = UInt16(1 + next() % UInt64(format.infinityKey))  // 0x0001 … +∞
      return sign | magnitude
    }
    let (length, stride) = shape
    var bits = (0..<(runs - 1) * stride + length).map { _ in value() }
    // Every third run all positive and every third all negative, whose ends the kernels'
    // reductions of raw bits take from other reductions than a mixed run's.
    for q in 0..<runs {
      for k in q * stride..<(q * stride + length) {
        if q % 3 == 1 { bits[k] &= 0x7FFF } else if q % 3 == 2 { bits[k] |= 0x8000 }
      }
    }

    var combined: [Int: (Float, Float)] = [:]
    func reduce(width: Int) -> ([Float], [Float], Bool) {
      bits.withUnsafeBufferPointer { p in
        filledRanges(count: runs) { out in
          let range = RangeReduction.keyRanges(
            p.baseAddress!, format, 0..<runs, stride: stride, length: length, into: out, width: width)
          combined[width] = range
          return range != nil
        }
      }
    }
    let portable = reduce(width: 0)
    #expect(portable.2, "\(format)")
    let floats = bits.map(format.float)
    for width in WideKernels.runnableWidths {
      let wide = reduce(width: width)
      #expect(wide.2, "\(format) width \(width)")
      #expect(wide.0.map(\.bitPattern) == portable.0.map(\.bitPattern), "width \(width)")
      #expect(wide.1.map(\.bitPattern) == portable.1.map(\.bitPattern), "width \(width)")
      for q in 0..<runs {
        let run = floats[q * stride..<q * stride + length]
        #expect(wide.0[q] == run.min() && wide.1[q] == run.max(), "run \(q) width \(width)")
      }
    }
    // The combined range, found on the way, is that of every run's elements.
    let all = (0..<runs).flatMap { floats[$0 * stride..<$0 * stride + length] }
    for width in WideKernels.runnableWidths + [0] {
      #expect(combined[width]?.0 == all.min() && combined[width]?.1 == all.max(), "width \(width)")
    }

    // A NaN, or a zero at an end, sends the item to the float path on both routes.
    let last = (runs - 1) * stride
    let (nan, negativeNaN): (UInt16, UInt16) = format == .bfloat16 ? (0x7FC1, 0xFFC0) : (0x7C01, 0xFE00)
    for (position, poison) in [(last + length - 1, nan), (last, negativeNaN), (stride * (runs / 2) + 3, 0)] {
      let kept = bits[position]
      bits[position] = poison
      if poison == 0 {
        // Every value of that run positive, so that +0 is its minimum.
        for k in 0..<length where k != 3 { bits[stride * (runs / 2) + k] &= 0x7FFF }
      }
      for width in WideKernels.runnableWidths + [0] {
        #expect(reduce(width: width).2 == false, "\(format) poison \(poison) at \(position), width \(width)")
      }
      bits[position] = kept
    }
  }

  /// `calib_bf16_key_range` against `BFloat16Order.keyRange` on any bits (NaNs and zeros
  /// included: only the keys are compared), with each extreme placed in the tail as well
  /// as in the body, among values near 1, near -1, or zeros of both signs.
  @Test(.needsAVX2, arguments: [0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 1000, 4099])
  func keyRangeAgreesWithThePortableLoop(count: Int) throws {
    for width in WideKernels.runnableWidths {
      for base in KeyRangeBase.allCases {
        keyRangeAgreesWithThePortableLoop(count: count, width: width, base: base)
      }
    }
  }

  enum KeyRangeBase: CaseIterable {
    case positive, negative, zeros

    func bits(_ random: UInt16) -> UInt16 {
      switch self {
      case .positive: (random & 0x007F) | 0x3F80
      case .negative: (random & 0x007F) | 0xBF80
      case .zeros: random & 0x8000
      }
    }
  }

  private func keyRangeAgreesWithThePortableLoop(count: Int, width: Int, base: KeyRangeBase) {
    var state: UInt64 = 0xD1B5_4A32_D192_ED03 &+ UInt64(count)
    func next() -> UInt16 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return UInt16(truncatingIfNeeded: state >> 40)
    }
    // Values near 1 (or -1): a planted extreme is the only one, and a masked-off lane
    // counted as the key 0 would show as the minimum (or maximum).
    var bits = (0..<count).map { _ in base.bits(next()) }
    func ranges() -> ((Int16, Int16), (Int16, Int16)) {
      var (low, high) = (Int16(0), Int16(0))
      bits.withUnsafeBufferPointer { calib_bf16_key_range(Int32(width), $0.baseAddress ?? UnsafePointer(bitPattern: 64)!, count, &low, &high) }
      let portable = bits.withUnsafeBytes { BFloat16Order.keyRange($0.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!, count: count) }
      return ((low, high), (portable.low, portable.high))
    }
    var (wide, portable) = ranges()
    #expect(wide == portable, "\(base) width \(width)")
    if count == 0 { #expect(wide == (Int16.max, Int16.min)) }
    for position in Set([0, count / 2, count - 1]) where count > 0 {
      for extreme: UInt16 in [0xFFC1, 0x7FC1, 0xFF80, 0x7F80] {
        let kept = bits[position]
        bits[position] = extreme
        (wide, portable) = ranges()
        #expect(wide == portable, "\(base) \(extreme) at \(position), width \(width)")
        let key = BFloat16Order.key(Int16(bitPattern: extreme))
        #expect(wide.0 == key || wide.1 == key, "\(extreme) at \(position)")
        bits[position] = kept
      }
    }
  }
}
