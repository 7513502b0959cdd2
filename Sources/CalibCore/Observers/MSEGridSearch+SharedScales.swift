import CalibKernels

/// Many bf16 parameters, few scales: a term table per scale, not a term per element.
///
/// Within one step, the term `r(|QDQ(x) - x| ^ norm)` is a function of x's 16 bits and
/// the parameter's scale and zero point alone, and a bf16 scale takes one of 128 values
/// per binade. So the groups or channels of a large weight share few of them: the 131,072
/// groups of a 4096 × 4096 weight at group size 128 share about 170 scales per step.
/// Each step therefore buckets the parameters by (scale, zero point); for a bucket with at
/// least as many elements as bf16 values in its range (both signs: a table entry costs
/// about what an element does, and a look-up far less), it computes the term of every
/// bf16 value between the bucket's smallest and largest |x| once, with the same lane
/// kernels as the element-wise search, and each parameter's sum looks its terms up, in
/// the same ``TorchSum`` order. Same terms, same order: the same bits as computing every
/// element. A small bucket computes its parameters element by element, as before.
///
/// Every parameter's sequence is copied once per search as 16-bit keys, a bf16 value's
/// magnitude bits shifted left once with its sign below (half the bytes each step then
/// re-reads), with its smallest and largest magnitude. A table holds each magnitude's two
/// terms side by side, so a key less twice the table's lowest magnitude is its index:
/// one subtraction per element. The steps visit the
/// parameters in memory order: one bucket's parameters lie far apart, while all of a
/// step's tables (a few KiB each, the terms being bf16) stay in cache together.
extension MSEGridSearch {
  /// Whether a search in `dtype` shares term tables when it sums whole parameters: bf16
  /// values and scales (no global scale).
  static func sharesTermTables(globalScale: Float?, optimizingGlobalScale: Bool, dtype: FloatDType) -> Bool {
    dtype == .bfloat16 && globalScale == nil && !optimizingGlobalScale
  }

  /// ``wholeParameters`` for bf16 parameters that share scales (see the extension's notes).
  func sharedTableParameters<Q: LaneQDQ, P: LanePower, R: LaneRounding>(
    _ sequences: BFloat16Sequences, _ source: SharedPointer<Float>, _ layout: GroupLayout, _ steps: Int,
    _ candidates: Candidates, _ qdq: Q, _ power: P, _ rounding: R.Type, into errors: SharedPointer<Float>
  ) {
    let count = layout.count
    var scales = [Float](repeating: 0, count: count)
    var zeros = [Float](repeating: 0, count: count)
    scales.withUnsafeMutableBufferPointer { scaleBuffer in
     zeros.withUnsafeMutableBufferPointer { zeroBuffer in
      // Non-nil: count > 0.
      let (scales, zeros) = (SharedPointer(scaleBuffer.baseAddress!), SharedPointer(zeroBuffer.baseAddress!))
      let zeroTerms = ZeroTerms(sequences, power, R.self)
      defer { zeroTerms.deallocate() }
      for i in 0..<steps {
        candidateParameters(candidates, step: i, into: scales, zeros, count: count)
        let buckets = ScaleBuckets(scales.readOnly, zeros.readOnly, count: count)
        let tables = TermTables(buckets, scales: scales.readOnly, zeros: zeros.readOnly, sequences, qdq, power)
        defer { tables.deallocate() }
        tables.fill(qdq, power, R.self, zeroTerms: zeroTerms, parallel: runsInParallel)
        let work = SharedTableStep(
          sequences: sequences, source: source, layout: layout, scales: scales, zeros: zeros, tables: tables,
          errors: SharedPointer(errors.base + i * count))
        let perItem = Swift.max(1, Self.itemElements / Swift.max(1, sequences.length))
        ForkJoin.forEach((count + perItem - 1) / perItem, parallel: runsInParallel) { item in
          work.errors(of: (item * perItem)..<Swift.min(count, (item + 1) * perItem), candidates, qdq, power, R.self)
        }
      }
     }
    }
  }

  /// Step `i`'s scale and zero point of every parameter: its candidate range
  /// (``Candidates/parameters(step:_:)``'s first step), then `calculate_qparams` by
  /// ``QParamKernel/parameters(mins:maxs:_:scales:zeros:outputs:width:)``; there is no
  /// global scale. A symmetric kernel leaves `zeros` as they are: all 0 from the start.
  private func candidateParameters(
    _ candidates: Candidates, step i: Int, into scales: SharedPointer<Float>, _ zeros: SharedPointer<Float>, count: Int
  ) {
    let block = Self.selectionBlock
    let (p, dtype) = (candidates.factors[i], candidates.dtype)
    ForkJoin.forEach((count + block - 1) / block, parallel: runsInParallel) { b in
      let (first, end) = (b * block, Swift.min(count, (b + 1) * block))
      withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * block) { buffer in
        // Non-nil: capacity > 0.
        let (mn, mx) = (buffer.baseAddress!, buffer.baseAddress! + block)
        candidates.rawMin.withUnsafeBufferPointer { mins in
          candidates.rawMax.withUnsafeBufferPointer { maxs in
            // `p * min_val` with a Python float p: float32 product, rounded to D.
            for q in first..<end {
              mn[q - first] = dtype.rounded(p * mins[q])
              mx[q - first] = dtype.rounded(p * maxs[q])
            }
          }
        }
        candidates.kernel.parameters(
          mins: mn, maxs: mx, 0..<(end - first), scales: scales.base + first,
          zeros: candidates.kernel.symmetric ? nil : zeros.base + first, outputs: end - first)
      }
    }
  }
}

/// Every parameter's sequence (``MSEGridSearch/withSequence(of:_:_:scratch:_:)``) as
/// keys, `length` per parameter, with each sequence's smallest and largest magnitude bits.
///
/// The key of a bf16 value with bits `h` is `(h & 0x7FFF) << 1 | h >> 15`: its magnitude
/// bits and its sign (finite magnitudes are at most 0x7F7F, so keys fit 16 bits).
struct BFloat16Sequences: @unchecked Sendable {
  // Immutable after init; shared read-only between workers.
  let length: Int
  let keys: [UInt16]
  let lowest: [UInt16]
  let highest: [UInt16]

  init(_ source: SharedPointer<Float>, _ layout: GroupLayout, parallel: Bool) {
    let count = layout.count
    let n = MSEGridSearch.paddedLength(layout)
    var lowest = [UInt16](repeating: 0, count: count)
    var highest = [UInt16](repeating: 0, count: count)
    let perItem = Swift.max(1, MSEGridSearch.itemElements / Swift.max(1, n))
    let items = (count + perItem - 1) / perItem
    let multiRun = layout.runCount > 1 || layout.block != nil
    keys = [UInt16](unsafeUninitializedCapacity: count * n) { b, initialized in
      lowest.withUnsafeMutableBufferPointer { lo in
        highest.withUnsafeMutableBufferPointer { hi in
          // Non-nil: count, n > 0.
          let (out, low, high) = (SharedPointer(b.baseAddress!), SharedPointer(lo.baseAddress!), SharedPointer(hi.baseAddress!))
          ForkJoin.forEach(items, parallel: parallel) { item in
            var scratch = [Float](repeating: 0, count: multiRun ? n : 0)
            scratch.withUnsafeMutableBufferPointer { scratch in
              let gathered = scratch.baseAddress ?? UnsafeMutablePointer(bitPattern: 8)!
              for q in (item * perItem)..<Swift.min(count, (item + 1) * perItem) {
                (low[q], high[q]) = MSEGridSearch.withSequence(of: q, layout, source.readOnly, scratch: gathered) { p, _ in
                  Self.copyKeys(p, n, into: out.base + q * n)
                }
              }
            }
          }
        }
      }
      initialized = count * n
    }
    length = n
    self.lowest = lowest
    self.highest = highest
  }

  /// Writes the keys of `p[0..<n]` (bf16 values) to `out`, and returns the smallest and
  /// largest of their magnitude bits.
  static func copyKeys(_ p: UnsafePointer<Float>, _ n: Int, into out: UnsafeMutablePointer<UInt16>) -> (UInt16, UInt16) {
    for j in 0..<n {
      let h = p[j].bitPattern
      out[j] = UInt16(truncatingIfNeeded: (h &>> 15) & 0xFFFE | h &>> 31)
    }
    let raw = UnsafeRawPointer(out)
    // Magnitudes are below 0x8000, so signed 16-bit compares order them.
    var low = SIMD8<Int16>(repeating: .max)
    var high = SIMD8<Int16>(repeating: 0)
    var j = 0
    while j + 8 <= n {
      let m = unsafeBitCast(raw.loadUnaligned(fromByteOffset: j * 2, as: SIMD8<UInt16>.self) &>> 1, to: SIMD8<Int16>.self)
      for k in 0..<8 {
        low[k] = m[k] < low[k] ? m[k] : low[k]
        high[k] = m[k] > high[k] ? m[k] : high[k]
      }
      j += 8
    }
    var (l, h) = (low.min(), high.max())
    while j < n {
      let m = Int16(out[j] >> 1)
      (l, h) = (Swift.min(l, m), Swift.max(h, m))
      j += 1
    }
    return (UInt16(l), UInt16(h))
  }
}

/// The parameters of one step grouped by scale and zero point (the top 16 bits of each:
/// all of a bf16 value's bits), in one pass in parameter order. Buckets are numbered in
/// the order of their first parameter, through a dense map over the span of scale keys the
/// step uses when all zero points share their key (as a symmetric scheme's do), through a
/// dictionary otherwise.
struct ScaleBuckets {
  /// The bucket of each parameter.
  let bucketOf: [Int32]
  /// Each bucket's first parameter.
  let first: [Int32]

  var count: Int { first.count }

  init(_ scales: UnsafePointer<Float>, _ zeros: UnsafePointer<Float>, count: Int) {
    // Scale bits above, zero point bits below: equal keys, one bucket.
    @inline(__always) func key(_ q: Int) -> UInt32 {
      scales[q].bitPattern & 0xFFFF_0000 | zeros[q].bitPattern &>> 16
    }
    var first: [Int32] = []
    var (lowest, highest) = (UInt32.max, UInt32(0))
    var zeroKeys: UInt32 = 0
    for q in 0..<count {
      (lowest, highest) = (Swift.min(lowest, key(q)), Swift.max(highest, key(q)))
      zeroKeys |= key(q) ^ key(0)
    }
    bucketOf = [Int32](unsafeUninitializedCapacity: count) { out, initialized in
      if count > 0 && zeroKeys & 0xFFFF == 0 {
        // One zero point key: the scale keys index a dense map.
        var bucket = [Int32](repeating: -1, count: Int((highest &- lowest) &>> 16) + 1)
        bucket.withUnsafeMutableBufferPointer { bucket in
          for q in 0..<count {
            let k = Int((key(q) &- lowest) &>> 16)
            if bucket[k] < 0 {
              bucket[k] = Int32(truncatingIfNeeded: first.count)
              first.append(Int32(truncatingIfNeeded: q))
            }
            out[q] = bucket[k]
          }
        }
      } else {
        var bucket: [UInt32: Int32] = [:]
        for q in 0..<count {
          if let b = bucket[key(q)] {
            out[q] = b
          } else {
            out[q] = Int32(truncatingIfNeeded: first.count)
            bucket[key(q)] = out[q]
            first.append(Int32(truncatingIfNeeded: q))
          }
        }
      }
      initialized = count
    }
    self.first = first
  }
}

/// One step's term tables, one per bucket of parameters sharing a scale, in one buffer.
///
/// Bucket b's table holds the terms for the magnitudes
/// `low[b]..<low[b] + width[b]` of its parameters' values, both signs side by side (see
/// ``SharedTableStep/fillTerms(_:low:width:scale:zero:_:_:_:)``). A bucket gets none
/// (`width[b] == 0`) when it has fewer elements than its table would have entries, when
/// or when its scales or zero points are not bf16 values; its parameters are computed
/// element by element.
struct TermTables: @unchecked Sendable {
  // `storage` is written by ``fill(_:_:_:parallel:)``, each bucket's region by one worker,
  // then only read until ``deallocate()``.
  let bucketOf: [Int32]
  let scale: [Float]
  let zero: [Float]
  let low: [UInt16]
  let width: [Int]
  let offset: [Int]
  let storage: UnsafeMutablePointer<UInt16>

  init<Q: LaneQDQ, P: LanePower>(
    _ buckets: ScaleBuckets, scales: UnsafePointer<Float>, zeros: UnsafePointer<Float>, _ sequences: BFloat16Sequences,
    _ qdq: Q, _ power: P
  ) {
    let count = buckets.count
    var scale = [Float](repeating: 0, count: count)
    var zero = [Float](repeating: 0, count: count)
    var low = [UInt16](repeating: 0, count: count)
    var width = [Int](repeating: 0, count: count)
    var offset = [Int](repeating: 0, count: count)
    for b in 0..<count { (scale[b], zero[b]) = (scales[Int(buckets.first[b])], zeros[Int(buckets.first[b])]) }
    let members = Self.members(buckets, scales, zeros, scale, zero, sequences)
    var total = 0
    for b in 0..<count {
      let (lowest, highest, size) = (members[b].lowest, members[b].highest, members[b].count)
      let shared = members[b].differing == 0 && scale[b].bitPattern & 0xFFFF == 0 && zero[b].bitPattern & 0xFFFF == 0
      let span = Int(highest) - Int(lowest) + 1
      guard shared && 2 * span <= size * sequences.length else { continue }
      (low[b], width[b], offset[b]) = (lowest, span, total)
      // Both signs, plus two vectors of slack for the fill's last stores.
      total += 2 * span + 16
    }
    (self.bucketOf, self.scale, self.zero) = (buckets.bucketOf, scale, zero)
    (self.low, self.width, self.offset) = (low, width, offset)
    storage = .allocate(capacity: Swift.max(1, total))
  }

  /// What a bucket's table depends on in its parameters.
  struct Members {
    var count = 0
    /// The smallest and largest magnitude bits of their values.
    var lowest = UInt16.max
    var highest: UInt16 = 0
    /// The bits in which any scale or zero point differs from the bucket's first.
    var differing: UInt32 = 0
  }

  /// Each bucket's ``Members``, in one pass in parameter order.
  private static func members(
    _ buckets: ScaleBuckets, _ scales: UnsafePointer<Float>, _ zeros: UnsafePointer<Float>, _ scale: [Float],
    _ zero: [Float], _ sequences: BFloat16Sequences
  ) -> [Members] {
    var members = [Members](repeating: Members(), count: buckets.count)
    members.withUnsafeMutableBufferPointer { members in
      buckets.bucketOf.withUnsafeBufferPointer { bucketOf in
        sequences.lowest.withUnsafeBufferPointer { lows in
          sequences.highest.withUnsafeBufferPointer { highs in
            scale.withUnsafeBufferPointer { scale in
              zero.withUnsafeBufferPointer { zero in
                for q in 0..<bucketOf.count {
                  let b = Int(bucketOf[q])
                  members[b].count += 1
                  members[b].lowest = Swift.min(members[b].lowest, lows[q])
                  members[b].highest = Swift.max(members[b].highest, highs[q])
                  members[b].differing |=
                    (scales[q].bitPattern ^ scale[b].bitPattern) | (zeros[q].bitPattern ^ zero[b].bitPattern)
                }
              }
            }
          }
        }
      }
    }
    return members
  }

  /// Computes every table, its buckets in parallel; entries of values that quantize to
  /// 0 are copied from `zeroTerms` when given.
  func fill<Q: LaneQDQ, P: LanePower, R: LaneRounding>(
    _ qdq: Q, _ power: P, _ rounding: R.Type, zeroTerms: ZeroTerms?, parallel: Bool
  ) {
    ForkJoin.forEach(width.count, parallel: parallel) { b in
      guard width[b] > 0 else { return }
      SharedTableStep.fillTerms(
        storage + offset[b], low: low[b], width: width[b], scale: scale[b], zero: zero[b], qdq, power, R.self,
        zeroTerms: zeroTerms)
    }
  }

  func deallocate() { storage.deallocate() }
}

/// One step of ``MSEGridSearch/sharedTableParameters``: what each worker reads.
struct SharedTableStep: Sendable {
  let sequences: BFloat16Sequences
  let source: SharedPointer<Float>
  let layout: GroupLayout
  let scales: SharedPointer<Float>
  let zeros: SharedPointer<Float>
  let tables: TermTables
  /// This step's row of the error table.
  let errors: SharedPointer<Float>

  /// The errors of parameters `range`: by their bucket's table, or element by element.
  func errors<Q: LaneQDQ, P: LanePower, R: LaneRounding>(
    of range: Range<Int>, _ candidates: Candidates, _ qdq: Q, _ power: P, _ rounding: R.Type
  ) {
    let n = sequences.length
    var sum = TorchSum(count: n, dtype: .bfloat16)
    let rows = TorchSum.rowsWithoutCascade(n, dtype: .bfloat16)
    var gathered = [Float](repeating: 0, count: layout.runCount > 1 || layout.block != nil ? n : 0)
    let wide = WideMSETerms(qdq, power, R.self)
    withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { buffer in
      sequences.keys.withUnsafeBufferPointer { keys in
        gathered.withUnsafeMutableBufferPointer { gathered in
          // Non-nil: n > 0 and count · n > 0.
          let (terms, keys) = (buffer.baseAddress!, keys.baseAddress!)
          let scratch = gathered.baseAddress ?? UnsafeMutablePointer(bitPattern: 8)!
          for q in range {
            let b = Int(tables.bucketOf[q])
            let width = tables.width[b]
            guard width > 0 else {
              var (s, zero) = (scales[q], zeros[q])
              sum.reset(count: n, dtype: .bfloat16)
              MSEGridSearch.withSequence(of: q, layout, source.readOnly, scratch: scratch) { p, n in
                MSEGridSearch.sliceErrors(p, 0..<n, steps: 1, scales: &s, zeros: &zero, qdq, power, R.self, wide, into: &sum)
              }
              // torch's sum rounds once, to D.
              errors[q] = BFloat16.rounded(sum.total())
              continue
            }
            let table = Lookup(tables.storage + tables.offset[b], low: tables.low[b])
            if let rows {
              errors[q] = BFloat16.rounded(table.rowSum(keys + q * n, rows: rows))
            } else {
              table.terms(keys + q * n, n, into: terms)
              sum.reset(count: n, dtype: .bfloat16)
              sum.add(contentsOf: terms, count: n)
              errors[q] = BFloat16.rounded(sum.total())
            }
          }
        }
      }
    }
  }

  /// `table[2 (m - low)]` := the term of the bf16 value with magnitude bits m, and
  /// `table[2 (m - low) + 1]` that of its negative, for m in `low..<low + width`, each as
  /// its bf16 bits.
  ///
  /// With `zeroTerms`, the entries of the magnitudes whose values (both signs) quantize to
  /// 0 are copied from it instead: their difference is |x| itself, whatever the scale.
  static func fillTerms<Q: LaneQDQ, P: LanePower, R: LaneRounding>(
    _ table: UnsafeMutablePointer<UInt16>, low: UInt16, width: Int, scale: Float, zero: Float, _ qdq: Q,
    _ power: P, _ rounding: R.Type, zeroTerms: ZeroTerms? = nil
  ) {
    var start = 0
    if let zeroTerms {
      let end = zeroTerms.regionEnd(low: low, width: width, scale: scale, zero: zero, qdq, R.self)
      start = Int(end) - Int(low)
      table.update(from: zeroTerms.table + 2 &* Int(low), count: 2 &* start)
    }
    let (s, zp) = (Lanes(repeating: scale), Lanes(repeating: zero))
    let lane = LaneBits.laneIndices
    let end = LaneBits(repeating: UInt32(low) + UInt32(width))
    @inline(__always) func terms(_ magnitude: LaneBits, sign: UInt32) -> LaneBits {
      // Lanes past the last magnitude compute the term of 0, stored in the slack.
      let bits = LaneBits().replacing(with: (magnitude &<< 16) | LaneBits(repeating: sign), where: magnitude .< end)
      let d = MSEGridSearch.difference(Lanes(bits: bits), s, zp, scale, zero, qdq, R.self)
      // A bf16 term: its low 16 bits are 0.
      return power.term(power.middle(power.begin(d)), R.self).bits &>> 16
    }
    for first in stride(from: start, to: width, by: 8) {
      let magnitude = LaneBits(repeating: UInt32(low) + UInt32(first)) &+ lane
      let (positive, negative) = (terms(magnitude, sign: 0), terms(magnitude, sign: 0x8000_0000))
      for k in 0..<8 {
        table[2 &* (first &+ k)] = UInt16(truncatingIfNeeded: positive[k])
        table[2 &* (first &+ k) &+ 1] = UInt16(truncatingIfNeeded: negative[k])
      }
    }
  }

  /// One bucket's table, read by key (``BFloat16Sequences``).
  struct Lookup {
    let table: UnsafePointer<UInt16>
    /// `2 · low`: the key of the table's first entry.
    let first: Int

    init(_ table: UnsafeMutablePointer<UInt16>, low: UInt16) {
      (self.table, first) = (UnsafePointer(table), 2 &* Int(low))
    }

    /// The term of `key`.
    @inline(__always)
    func term(_ key: UInt16) -> Float {
      Float(bitPattern: UInt32(table[Int(key) &- first]) &<< 16)
    }

    /// `out[j]` := the term of `keys[j]`, for j < n.
    @inline(__always)
    func terms(_ keys: UnsafePointer<UInt16>, _ n: Int, into out: UnsafeMutablePointer<Float>) {
      for j in 0..<n { out[j] = term(keys[j]) }
    }

    /// The float32 ``TorchSum`` of the terms of `64 · rows` keys (rows < 16,
    /// see ``TorchSum/rowsWithoutCascade(_:dtype:)``), one lane at a time. torch adds
    /// load `4r + k` (16 terms, its two 8-lane halves added) to accumulator k, adds the
    /// four accumulators lane-wise in order, then their lanes in order; lane l of
    /// accumulator k is therefore the row-ordered sum of the pairs at `64r + 16k + l` and
    /// `64r + 16k + 8 + l`, and the same additions are done here without vectors.
    /// With AVX-512 (`width` 16), the same additions on vectors (`CalibKernels`), the
    /// terms read with scalar loads there too (they beat vector gathers on Zen 5).
    @inline(__always)
    func rowSum(_ keys: UnsafePointer<UInt16>, rows: Int, width: Int = WideKernels.width) -> Float {
      if width == 16 {
        return calib_bf16_table_row_sum(table, first, keys, rows)
      }
      @inline(__always) func pair(_ at: UnsafePointer<UInt16>, _ k: Int) -> Float {
        term(at[k]) + term(at[k &+ 8])
      }
      var total: Float = 0
      for lane in 0..<8 {
        var (a0, a1, a2, a3): (Float, Float, Float, Float) = (0, 0, 0, 0)
        var at = keys + lane
        for _ in 0..<rows {
          a0 += pair(at, 0)
          a1 += pair(at, 16)
          a2 += pair(at, 32)
          a3 += pair(at, 48)
          at += 64
        }
        total += ((a0 + a1) + a2) + a3
      }
      return total
    }
  }
}

/// The terms of bf16 values that quantize to 0, shared by every bucket and step of a
/// search: for such a value QDQ(x) is 0, so its difference is |x| and its term
/// `r(|x| ^ norm)`, the same at any scale. Indexed by key (``BFloat16Sequences``), like
/// the buckets' tables, for every magnitude up to the sequences' largest.
struct ZeroTerms: @unchecked Sendable {
  // Written once by init, then only read until ``deallocate()``.
  let table: UnsafeMutablePointer<UInt16>

  init<P: LanePower, R: LaneRounding>(_ sequences: BFloat16Sequences, _ power: P, _ rounding: R.Type) {
    let top = Int(sequences.highest.max() ?? 0)
    // Both signs per magnitude, plus two vectors of slack for the last stores.
    table = .allocate(capacity: 2 * (top + 1) + 16)
    let lane = LaneBits.laneIndices
    for first in stride(from: 0, through: top, by: 8) {
      let d = Lanes(bits: (LaneBits(repeating: UInt32(first)) &+ lane) &<< 16)
      let term = power.term(power.middle(power.begin(d)), R.self).bits &>> 16
      for k in 0..<8 {
        table[2 &* (first &+ k)] = UInt16(truncatingIfNeeded: term[k])
        table[2 &* (first &+ k) &+ 1] = UInt16(truncatingIfNeeded: term[k])
      }
    }
  }

  /// The first magnitude in `low..<low + width` at which a value of either sign does not
  /// quantize to 0 (`low + width` if none). For a positive scale QDQ is monotone and maps
  /// 0 to 0, so the values that quantize to 0 are an interval around 0 and the
  /// magnitudes whose both signs do a prefix: a binary search finds its end. A scale that
  /// is not positive stops it at `low` (every entry computed).
  func regionEnd<Q: LaneQDQ, R: LaneRounding>(
    low: UInt16, width: Int, scale: Float, zero: Float, _ qdq: Q, _ rounding: R.Type
  ) -> UInt16 {
    guard scale > 0 else { return low }
    let (s, zp) = (Lanes(repeating: scale), Lanes(repeating: zero))
    func quantizesToZero(_ m: Int) -> Bool {
      var x = Lanes(bits: LaneBits(repeating: UInt32(m) << 16))
      x[1] = -x[0]
      var out = qdq.qdq(x, scale: s, zeroPoint: zp, scalarScale: scale, scalarZeroPoint: zero)
      if !qdq.returnsValueDType { out = R.round(out) }
      return out[0] == 0 && out[1] == 0
    }
    // Invariant: every magnitude below `lower` quantizes to 0, and `upper` is at or past
    // the first that does not.
    var (lower, upper) = (Int(low), Int(low) + width)
    while lower < upper {
      let middle = (lower + upper) / 2
      if quantizesToZero(middle) { lower = middle + 1 } else { upper = middle }
    }
    return UInt16(lower)
  }

  func deallocate() { table.deallocate() }
}
