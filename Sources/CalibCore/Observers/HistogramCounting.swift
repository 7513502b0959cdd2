/// Histogram counting shared by the NumPy and torch reproductions (``NumPyHistogram``,
/// ``ModelOptCalibration``): values are read eight lanes at a time, each lane's bin index
/// is computed with float SIMD arithmetic, and the increments are scattered into per-chunk
/// tables without a branch per element.
///
/// Exactness rests on one fact: for a float `f` in `[0, 2^23)`, `(f + 2^23) - 2^23` is `f`
/// rounded to the nearest integer (the ulp of `[2^23, 2^24)` is 1), so `⌊f⌋` is that, minus
/// one where it came out above `f`; and the bit pattern of `i + 2^23` is `0x4B00_0000 + i`.
/// No float-to-int conversion instruction is needed, which the SSE2 baseline lacks for
/// eight lanes. Histograms are therefore limited to ``maximumBins`` bins, far below 2^23.
enum HistogramCounting {
  /// Elements per counting chunk: a function of the input only, so the work split (and
  /// with integer counts, the result) never depends on the thread count.
  static let chunkSize = 1 << 20
  /// Sub-tables per chunk: neighbouring lanes count into different sub-tables, so that
  /// runs of equal bins do not wait on one another's increments.
  static let ways = 4
  /// The most bins a histogram may have, here and after it grows. The sources allocate
  /// whatever growth asks for (modelopt's bins of the first step's width up to a later
  /// step's max can number billions); CalibStore refuses past this with a clear error.
  static let maximumBins = 1 << 22

  /// Refuses a histogram that would grow to `bins` bins (a float, as the sources compute
  /// it, so that an overflowing count is caught before it becomes an `Int`).
  ///
  /// - Throws: ``ObserverError/unsupported(observer:reason:)`` past ``maximumBins`` or
  ///   when `bins` is not finite (a first step whose range was zero-width or subnormal).
  static func checkGrowth(to bins: Double, observer: String) throws {
    guard bins.isFinite && bins <= Double(maximumBins) else {
      let shown = !bins.isFinite ? "unboundedly many" : bins < 1e15 ? "\(Int(bins))" : "\(bins)"
      throw ObserverError.unsupported(
        observer: observer,
        reason: "this step's values would grow the histogram to \(shown) bins of the earlier steps' width, past the \(maximumBins) CalibStore allows (an earlier step's range was far narrower): use fewer num_bins, or an observer without a histogram")
    }
  }

  /// A kernel's margin as lanes: `bound` rounded up, or 1 (every lane, since no lane is
  /// farther than 0.5 from an integer) when the bound is not below 0.5 or not finite.
  static func margin(_ bound: Double) -> SIMD8<Float> {
    SIMD8(repeating: bound.isFinite && bound < 0.5 ? Float(bound).nextUp : 1)
  }

  /// Counts `values` into `bins` bins with `kernel`, chunk by chunk, each chunk into its
  /// own ``BinTable`` (on the shared pool when `parallel`), then adds the tables: exact,
  /// so identical to one sequential pass. The last vector's missing lanes are -∞, which
  /// every kernel must drop.
  ///
  /// - Precondition: `bins` is in `1...maximumBins`; no value is NaN (the observers
  ///   refuse non-finite values before counting; a NaN lane's bin is unspecified).
  static func counts<Kernel: BinKernel>(
    _ values: UnsafeBufferPointer<Float>, bins: Int, parallel: Bool, kernel: Kernel
  ) -> [Int64] {
    precondition(bins > 0 && bins <= maximumBins, "histogram bin count \(bins) outside 1...\(maximumBins)")
    let chunks = Swift.max(1, (values.count + chunkSize - 1) / chunkSize)
    let stride = ways * (bins + 1)
    var tables = [Int32](repeating: 0, count: chunks * stride)
    tables.withUnsafeMutableBufferPointer { t in
      let out = SharedPointer(t.baseAddress!)
      let input = SharedPointer(values.baseAddress ?? UnsafePointer(bitPattern: 8)!)
      let total = values.count
      ForkJoin.forEach(chunks, parallel: parallel && chunks > 1) { chunk in
        let start = chunk * chunkSize
        let end = Swift.min(total, start + chunkSize)
        count(input.readOnly + start, Swift.max(0, end - start), into: BinTable(base: out.base + chunk * stride, bins: bins), kernel)
      }
    }
    var counts = [Int64](repeating: 0, count: bins)
    for table in 0..<chunks * ways {
      let offset = table * (bins + 1)
      for b in 0..<bins { counts[b] += Int64(tables[offset + b]) }
    }
    return counts
  }

  /// One chunk: every eight consecutive values through `kernel` into `table`; the last
  /// vector padded with -∞.
  private static func count<Kernel: BinKernel>(
    _ x: UnsafePointer<Float>, _ n: Int, into table: BinTable, _ kernel: Kernel
  ) {
    let raw = UnsafeRawPointer(x)
    var k = 0
    while k + 8 <= n {
      let (index, keep) = kernel.bins(raw.loadUnaligned(fromByteOffset: k &* 4, as: SIMD8<Float>.self))
      table.add(index, where: keep)
      k += 8
    }
    if k < n {
      var tail = SIMD8<Float>(repeating: -.infinity)
      for lane in 0..<(n - k) { tail[lane] = x[k + lane] }
      let (index, keep) = kernel.bins(tail)
      table.add(index, where: keep)
    }
  }
}

/// The bin of each of eight values: a histogram's arithmetic, as one source defines it.
protocol BinKernel: Sendable {
  /// Each lane's bin, and whether the lane counts at all (-1 if it does, 0 if not: values
  /// outside the histogram's range, ±∞ included, do not, and their bins may be anything).
  /// A lane that counts must have a bin in `0..<bins`.
  ///
  /// Lane masks travel as integers, best made from sign bits
  /// (``SIMD8/laneMask(from:through:)``): combining comparison masks makes the compiler
  /// pack them to 16-bit lanes and back on SSE2.
  func bins(_ v: SIMD8<Float>) -> (index: SIMD8<Int32>, keep: SIMD8<Int32>)
}

/// One chunk's counts: ``HistogramCounting/ways`` sub-tables of `bins + 1` counters. Lane
/// `l` counts into sub-table `l % ways`; the last counter of each sub-table takes the lanes
/// that are not to be counted and is never read.
struct BinTable {
  let base: UnsafeMutablePointer<Int32>
  let bins: Int
  /// Each lane's sub-table offset plus `bins`, the discard counter's index.
  let discardSlots: SIMD8<Int32>

  init(base: UnsafeMutablePointer<Int32>, bins: Int) {
    self.base = base
    self.bins = bins
    let s = Int32(bins + 1)
    discardSlots = SIMD8(0, s, 2 &* s, 3 &* s, 0, s, 2 &* s, 3 &* s) &+ Int32(bins)
  }

  /// Adds one to bin `index[l]` of each lane `l` where `keep[l]` is -1 (the discard
  /// counter where it is 0).
  @inline(__always)
  func add(_ index: SIMD8<Int32>, where keep: SIMD8<Int32>) {
    // keep ? offset + index : offset + bins, without a blend.
    let slot = ((index &- Int32(bins)) & keep) &+ discardSlots
    // Two slots per 64-bit move out of the vector (slots are non-negative).
    let words = unsafeBitCast(slot, to: (UInt64, UInt64, UInt64, UInt64).self)
    for word in [words.0, words.1, words.2, words.3] {
      base[Int(truncatingIfNeeded: word & 0xFFFF_FFFF)] &+= 1
      base[Int(truncatingIfNeeded: word >> 32)] &+= 1
    }
  }
}

extension SIMDMask where Storage == SIMD8<Int32> {
  /// -1 (all bits set) in the lanes that are set, 0 elsewhere: the mask as integers, for
  /// adding, subtracting and and-ing without a blend.
  @inline(__always)
  var minusOnes: SIMD8<Int32> { SIMD8(repeating: 0).replacing(with: -1, where: self) }
}

extension SIMD8 where Scalar == Int32 {
  /// Whether any lane is nonzero (the standard `any` of a mask is a call per use).
  @inline(__always)
  var hasNonzeroLane: Bool {
    let words = unsafeBitCast(self, to: (UInt64, UInt64, UInt64, UInt64).self)
    return (words.0 | words.1 | words.2 | words.3) != 0
  }
}

extension SIMD8 where Scalar == Float {
  /// `⌊self⌋` per lane as an integer, and each lane's distance to its nearest integer;
  /// exact for lanes in `[0, 2^23)`, while other lanes (negative, larger, NaN) give
  /// unspecified values and must be masked by the caller.
  @inline(__always)
  func flooredNonNegative() -> (floor: SIMD8<Int32>, distance: Self) {
    let magic = Self(repeating: 8_388_608)
    let shifted = self + magic
    let nearest = shifted - magic
    // The integer `nearest` holds, one less where it rounded up.
    let floor = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B00_0000 &+ (nearest .> self).minusOnes
    return (floor, (self - nearest).magnitudes)
  }

  /// `⌊self⌋` per lane (see ``flooredNonNegative()``).
  @inline(__always)
  func floorOfNonNegative() -> SIMD8<Int32> { flooredNonNegative().floor }

  /// -1 in the lanes with `lo <= self <= hi`, 0 elsewhere, read from the sign bits of
  /// `self - lo` and `hi - self` (the subtraction of two finite floats, or of ±∞, is
  /// negative exactly when the first is smaller). Adding +0 first makes the -0 of
  /// `-0 - 0` a +0, as the comparison `-0 >= 0` holds. NaN lanes give unspecified masks.
  @inline(__always)
  func laneMask(from lo: Self, through hi: Self) -> SIMD8<Int32> {
    let zero = Self(repeating: 0)
    let below = unsafeBitCast((self - lo) + zero, to: SIMD8<Int32>.self)
    let above = unsafeBitCast((hi - self) + zero, to: SIMD8<Int32>.self)
    return ~((below | above) &>> 31)
  }

  /// -1 in the lanes whose sign bit is set (negative values, -0), 0 elsewhere.
  @inline(__always)
  var signMask: SIMD8<Int32> { unsafeBitCast(self, to: SIMD8<Int32>.self) &>> 31 }

  /// `|self|` per lane: the sign bit cleared, as `abs` does.
  @inline(__always)
  var magnitudes: Self { unsafeBitCast(unsafeBitCast(self, to: SIMD8<Int32>.self) & 0x7FFF_FFFF, to: Self.self) }
}
