import CalibKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Eight-lane building blocks of the MSE search's error `|QDQ(x) - x| ^ norm`.
///
/// The x86-64 baseline has SSE2 only (no `roundps`, no FMA, no gathers), so everything
/// here is plain add/multiply/divide, compares, selects and integer bit operations, which
/// the compiler keeps in vector registers.
typealias Lanes = SIMD8<Float>
typealias LaneBits = SIMD8<UInt32>
typealias LaneIndices = SIMD8<Int32>

extension SIMD8 where Scalar == Float {
  @inline(__always) var bits: LaneBits { unsafeBitCast(self, to: LaneBits.self) }
  @inline(__always) init(bits: LaneBits) { self = unsafeBitCast(bits, to: Lanes.self) }
}

extension SIMD8 where Scalar == UInt32 {
  /// 0, 1, …, 7: each lane's index.
  static var laneIndices: LaneBits { LaneBits(0, 1, 2, 3, 4, 5, 6, 7) }
}

/// `1.5 · 2^23`: adding and subtracting it rounds a float32 of magnitude below 2^22 to an
/// integer, ties to even — exactly `rounded(.toNearestOrEven)`. The low mantissa bits of
/// the sum hold that integer (offset by 2^22) in two's complement.
let roundingMagic: Float = 12_582_912

// MARK: - Quantize-dequantize

/// QDQ of a vector of values with one effective scale and zero point.
protocol LaneQDQ: Sendable {
  /// Whether results are already in the values' dtype (so `.to(D)` needs no rounding).
  var returnsValueDType: Bool { get }
  func qdq(_ x: Lanes, scale s: Lanes, zeroPoint zp: Lanes, scalarScale: Float, scalarZeroPoint: Float) -> Lanes
}

/// Integer levels: `r(r(round(clamp(r(r(x / s) + zp), q_min, q_max)) - zp) · s)` in the
/// exact order of ``FakeQuantizer``, where `r` rounds to the values' (and scales') dtype
/// `R` — nothing for float32. Valid while |q_min|, |q_max| ≤ 2^22, where the rounding
/// trick is exact (int types up to 23 bits); the rounded level is an integer that `R`
/// holds exactly (bf16 and f16 values at or above 2^8 and 2^11 are already integers).
struct IntegerQDQ<R: LaneRounding>: LaneQDQ {
  // Scalars, splatted at use: vector-typed fields hide that they are splats, and the
  // optimizer then splits lanes apart.
  let lowerBound: Float
  let upperBound: Float
  var returnsValueDType: Bool { true }

  init?(_ args: QuantizationArgs) {
    guard args.type == .int else { return nil }
    let range = QuantizedRange(args)
    let limit: Float = 4_194_304  // 2^22
    guard range.lowerBound.magnitude <= limit && range.upperBound.magnitude <= limit else { return nil }
    // `torch.clamp` takes its 0-d float32 bounds in the tensor's dtype.
    lowerBound = R.dtype.rounded(range.lowerBound)
    upperBound = R.dtype.rounded(range.upperBound)
  }

  @inline(__always)
  func qdq(_ x: Lanes, scale s: Lanes, zeroPoint zp: Lanes, scalarScale: Float, scalarZeroPoint: Float) -> Lanes {
    let magic = Lanes(repeating: roundingMagic)
    let level = (clampLanes(R.round(R.round(x / s) + zp), lowerBound, upperBound) + magic) - magic
    return R.round(R.round(level - zp) * s)
  }
}

/// ``IntegerQDQ`` for symmetric arguments, whose zero point is always 0: adding and
/// subtracting it only turns -0.0 into +0.0, which cannot change |QDQ(x) - x|.
struct SymmetricIntegerQDQ<R: LaneRounding>: LaneQDQ {
  let lowerBound: Float
  let upperBound: Float
  var returnsValueDType: Bool { true }

  init?(_ args: QuantizationArgs) {
    guard args.symmetric, let integer = IntegerQDQ<R>(args) else { return nil }
    (lowerBound, upperBound) = (integer.lowerBound, integer.upperBound)
  }

  @inline(__always)
  func qdq(_ x: Lanes, scale s: Lanes, zeroPoint zp: Lanes, scalarScale: Float, scalarZeroPoint: Float) -> Lanes {
    let magic = Lanes(repeating: roundingMagic)
    return R.round(((clampLanes(R.round(x / s), lowerBound, upperBound) + magic) - magic) * s)
  }
}

/// `if y < lower { y = lower }; if y > upper { y = upper }` lane-wise, NaN passing, as the
/// scalar code. Written per lane: the vectorizer turns these selects into maxps and minps,
/// while `replacing(with:where:)` becomes compare-and-blend.
@inline(__always)
func clampLanes(_ y: Lanes, _ lower: Float, _ upper: Float) -> Lanes {
  var out = Lanes()
  for k in 0..<Lanes.scalarCount {
    let raised = y[k] < lower ? lower : y[k]
    out[k] = raised > upper ? upper : raised
  }
  return out
}

/// Symmetric FP4 (E2M1) on float32 values and scales, as ``FakeQuantizer`` does it:
/// `y = clamp(x / s, -6, 6)`, rounded to the nearest of 0, ±0.5, ±1, ±1.5, ±2, ±3, ±4, ±6
/// with ties to the even code (``Float4E2M1/rounded(_:)``: 0.25 → 0, 0.75 → 1, 1.25 → 1,
/// 1.75 → 2, 2.5 → 2, 3.5 → 4, 5 → 4), times s. Per-lane selects, which the optimizer
/// keeps in vector registers, instead of a scalar quantizer call per lane. The sign of a
/// zero level may differ from the scalar path's (−0 here, +0 there), which |QDQ(x) − x|
/// cannot see.
struct FP4QDQ: LaneQDQ {
  var returnsValueDType: Bool { true }

  /// `nil` unless the arguments are symmetric FP4 and the values float32 (their scales
  /// then are too).
  init?(_ args: QuantizationArgs, valueDType: FloatDType) {
    guard args.isFP4 && args.symmetric && valueDType == .float32 else { return nil }
    precondition(QuantizedRange(args).upperBound == 6 && QuantizedRange(args).lowerBound == -6)
  }

  @inline(__always)
  func qdq(_ x: Lanes, scale s: Lanes, zeroPoint zp: Lanes, scalarScale: Float, scalarZeroPoint: Float) -> Lanes {
    let y = clampLanes(x / s, -6, 6)
    var level = Lanes()
    for k in 0..<Lanes.scalarCount {
      let a = y[k].magnitude
      var r: Float = a <= 0.25 ? 0 : 0.5
      r = a >= 0.75 ? 1 : r
      r = a > 1.25 ? 1.5 : r
      r = a >= 1.75 ? 2 : r
      r = a > 2.5 ? 3 : r
      r = a >= 3.5 ? 4 : r
      r = a > 5 ? 6 : r
      level[k] = Float(bitPattern: r.bitPattern | (y[k].bitPattern & 0x8000_0000))
    }
    return level * s
  }
}

/// Any other type (FP8, FP4 other than ``FP4QDQ``'s, very wide ints) or dtype mix (a float32 effective scale on
/// bf16 values): ``FakeQuantizer`` lane by lane, returning values in the scale's dtype.
struct ScalarQDQ: LaneQDQ {
  let quantizer: FakeQuantizer
  var returnsValueDType: Bool { quantizer.valueDType == quantizer.effectiveScaleDType }

  init(_ args: QuantizationArgs, valueDType: FloatDType = .float32, scaleDType: FloatDType = .float32) {
    quantizer = FakeQuantizer(args, valueDType: valueDType, scaleDType: scaleDType)
  }

  @inline(__always)
  func qdq(_ x: Lanes, scale s: Lanes, zeroPoint zp: Lanes, scalarScale: Float, scalarZeroPoint: Float) -> Lanes {
    var out = Lanes()
    for k in 0..<Lanes.scalarCount { out[k] = quantizer.qdq(x[k], effectiveScale: scalarScale, zeroPoint: scalarZeroPoint) }
    return out
  }
}

// MARK: - |d| ^ norm

/// `d ^ norm` for a vector of non-negative differences, in three stages so that a loop
/// can overlap three vectors' dependency chains: `power(d) = finish(middle(begin(d)))`.
protocol LanePower: Sendable {
  var norm: Float { get }
  func begin(_ d: Lanes) -> (Lanes, Lanes)
  func middle(_ stage: (Lanes, Lanes)) -> (Lanes, Lanes)
  func finish(_ stage: (Lanes, Lanes)) -> Lanes
  /// Whether `finish` already returns bf16 values (a table of rounded powers).
  static var finishesInBFloat16: Bool { get }
}

extension LanePower {
  static var finishesInBFloat16: Bool { false }

  /// The term torch's `pow_` leaves in a D tensor: `finish(stage)` rounded to D, unless it
  /// already is (a check the optimizer settles per specialization).
  @inline(__always)
  func term<R: LaneRounding>(_ stage: (Lanes, Lanes), _ rounding: R.Type) -> Lanes {
    let t = finish(stage)
    return Self.finishesInBFloat16 && R.dtype == .bfloat16 ? t : R.round(t)
  }
}

/// norm 2: `d · d`, exact as torch's.
struct SquarePower: LanePower {
  var norm: Float { 2 }
  @inline(__always) func begin(_ d: Lanes) -> (Lanes, Lanes) { (d * d, Lanes()) }
  @inline(__always) func middle(_ stage: (Lanes, Lanes)) -> (Lanes, Lanes) { stage }
  @inline(__always) func finish(_ stage: (Lanes, Lanes)) -> Lanes { stage.0 }
}

/// bf16 or f16 differences: torch's `pow_(norm)` on a tensor of that dtype, looked up by
/// d's bit pattern in the dtype (``PowerTableKeys``). A bf16 d ≥ 0 has at most 0x7F81 bit
/// patterns and an f16 one 0x7C01 (+∞ included), so one table of about 128 KiB built per
/// search replaces the power and its rounding with eight loads.
struct PowerTable<Keys: PowerTableKeys>: LanePower, @unchecked Sendable {
  // Immutable after init and kept alive by `storage`; shared read-only between workers.
  private let storage: [Float]
  private let base: UnsafePointer<Float>
  let norm: Float

  init(norm: Float) {
    self.norm = norm
    storage = Keys.terms(Keys.values, norm: norm)
    // The array's buffer does not move while `storage` holds it unchanged.
    base = storage.withUnsafeBufferPointer { $0.baseAddress! }
  }

  static var finishesInBFloat16: Bool { Keys.dtype == .bfloat16 }

  /// The terms by index, valid while this table lives.
  var entries: UnsafePointer<Float> { base }

  @inline(__always) func begin(_ d: Lanes) -> (Lanes, Lanes) {
    let index = Keys.index(d)
    var out = Lanes()
    for k in 0..<Lanes.scalarCount { out[k] = base[Int(index[k])] }
    return (out, Lanes())
  }

  @inline(__always) func middle(_ stage: (Lanes, Lanes)) -> (Lanes, Lanes) { stage }
  @inline(__always) func finish(_ stage: (Lanes, Lanes)) -> Lanes { stage.0 }
}

/// How a ``PowerTable`` indexes a 16-bit dtype's values and what it holds for them.
protocol PowerTableKeys: Sendable {
  static var dtype: FloatDType { get }
  /// Every value d ≥ 0 of the dtype (+∞ last), in float32, at its index.
  static var values: [Float] { get }
  /// The index of each lane's value d ≥ 0 of the dtype.
  static func index(_ d: Lanes) -> LaneBits
  /// torch's `pow_(norm)` of each value, rounded to the dtype.
  static func terms(_ values: [Float], norm: Float) -> [Float]

  /// The 16-bit pattern of `x`, a finite value of the dtype held as float32 (sign bit
  /// 0x8000): the index of a term table over all the dtype's values.
  static func key(_ x: Float) -> Int
  /// The values of the eight keys from `first` on, as float32.
  static func lanes(from first: Int) -> Lanes
  /// The largest key of a nonnegative finite value at most `reach` (≥ 0).
  static func topKey(within reach: Float) -> Int
}

/// bf16: indexed by d's 16 bits. Terms are `r(pow(d, norm))` with torch's float32 power
/// (``TorchPower``), except for norm 3, which torch multiplies in bf16: `r(r(d · d) · d)`.
/// (glibc's `powf` would give the same table at 2.4: its one-ulp float32 differences never
/// straddle a bf16 rounding boundary there.)
enum BFloat16Keys: PowerTableKeys {
  static var dtype: FloatDType { .bfloat16 }
  static let values = (0..<0x7F81).map { Float(bitPattern: UInt32($0) << 16) }
  @inline(__always) static func index(_ d: Lanes) -> LaneBits { d.bits &>> 16 }
  @inline(__always) static func key(_ x: Float) -> Int { Int(x.bitPattern &>> 16) }

  @inline(__always) static func lanes(from first: Int) -> Lanes {
    Lanes(bits: (LaneBits(repeating: UInt32(first)) &+ LaneBits.laneIndices) &<< 16)
  }

  /// Truncating the bits rounds toward zero; 0x7F7F is the largest finite value.
  static func topKey(within reach: Float) -> Int { Int(Swift.min(reach.magnitude.bitPattern &>> 16, 0x7F7F)) }

  static func terms(_ values: [Float], norm: Float) -> [Float] {
    norm == 3
      ? values.map { BFloat16.rounded(BFloat16.rounded($0 * $0) * $0) }
      : TorchPower.powers(values, norm).map(BFloat16.rounded)
  }
}

/// f16: indexed by d's f16 bit pattern (subnormals k · 2^-24 first, then the normals and
/// +∞). Terms are torch's float32 power rounded to f16, for the norms torch raises with
/// `pow` (not 2 or 3).
enum Float16Keys: PowerTableKeys {
  static var dtype: FloatDType { .float16 }
  static let values: [Float] = (0...0x7C00).map { k in
    k < 0x400 ? Float(k) * 0x1p-24 : Float(bitPattern: UInt32(k + 0x1C000) << 13)
  }

  @inline(__always) static func index(_ d: Lanes) -> LaneBits {
    var out = LaneBits()
    for k in 0..<Lanes.scalarCount {
      let bits = d[k].bitPattern
      let normal = Swift.min((bits &>> 13) &- 0x1C000, 0x7C00)
      out[k] = bits >= 0x3880_0000 ? normal : UInt32(truncatingIfNeeded: Int32(d[k] * 0x1p24))
    }
    return out
  }

  static func terms(_ values: [Float], norm: Float) -> [Float] {
    TorchPower.powers(values, norm).map(BFloat16.halfRounded)
  }

  /// The f16 bits of `x`'s magnitude, toward zero where `x` is not an f16 value: the
  /// float32 bits shifted into place for normals (from 2^-14), `x · 2^24` for subnormals;
  /// at most +∞'s, 0x7C00.
  @inline(__always) static func magnitudeKey(_ x: Float) -> Int {
    let bits = x.bitPattern & 0x7FFF_FFFF
    if bits >= 0x3880_0000 { return Int(Swift.min((bits &>> 13) &- 0x1C000, 0x7C00)) }
    return Int(Float(bitPattern: bits) * 0x1p24)
  }

  @inline(__always) static func key(_ x: Float) -> Int {
    Int(x.bitPattern &>> 31) &<< 15 | magnitudeKey(x)
  }

  @inline(__always) static func lanes(from first: Int) -> Lanes {
    var out = Lanes()
    for k in 0..<Lanes.scalarCount {
      let key = first &+ k
      let magnitude = values[Swift.min(key & 0x7FFF, 0x7C00)]
      out[k] = key & 0x8000 == 0 ? magnitude : -magnitude
    }
    return out
  }

  /// 0x7BFF is the largest finite value.
  static func topKey(within reach: Float) -> Int { Swift.min(magnitudeKey(reach), 0x7BFF) }
}

typealias BFloat16PowerTable = PowerTable<BFloat16Keys>
typealias Float16PowerTable = PowerTable<Float16Keys>

/// float32 norm 3: `(d · d) · d`, as torch's `pow_(3)` multiplies.
struct CubePower: LanePower {
  var norm: Float { 3 }
  @inline(__always) func begin(_ d: Lanes) -> (Lanes, Lanes) { ((d * d) * d, Lanes()) }
  @inline(__always) func middle(_ stage: (Lanes, Lanes)) -> (Lanes, Lanes) { stage }
  @inline(__always) func finish(_ stage: (Lanes, Lanes)) -> Lanes { stage.0 }
}

/// Any other norm: torch's float32 `pow(d, norm)`, bit for bit (``TorchPower/power(_:_:)``),
/// eight lanes per call into `CalibKernels`.
struct TorchPower: LanePower {
  let norm: Float

  @inline(__always) func begin(_ d: Lanes) -> (Lanes, Lanes) { (d, Lanes()) }
  @inline(__always) func middle(_ stage: (Lanes, Lanes)) -> (Lanes, Lanes) { stage }

  @inline(__always) func finish(_ stage: (Lanes, Lanes)) -> Lanes {
    var (input, out) = (stage.0, Lanes())
    withUnsafePointer(to: &input) { x in
      withUnsafeMutablePointer(to: &out) { y in
        let (x, y) = (UnsafeRawPointer(x).assumingMemoryBound(to: Float.self), UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float.self))
        calib_torch_pow(Self.laneWidth, x, y, Lanes.scalarCount, norm)
      }
    }
    return out
  }

  /// Eight lanes at once where the CPU has AVX2 (and FMA), else one at a time.
  private static let laneWidth: Int32 = WideKernels.width >= 8 ? 8 : 1

  /// torch's float32 `pow(x, y)` on CPU for x ≥ 0 and finite y > 0: SLEEF's 1-ulp `powf`,
  /// which torch's vectorized kernels call (see `calib_torch_powf`). Within one ulp of the
  /// exact power, and not always the correctly rounded one.
  static func power(_ x: Float, _ y: Float) -> Float { calib_torch_powf(x, y) }

  /// ``power(_:_:)`` of each of `x`, on the widest vectors the CPU has.
  static func powers(_ x: [Float], _ y: Float) -> [Float] {
    [Float](unsafeUninitializedCapacity: x.count) { out, initialized in
      x.withUnsafeBufferPointer { x in
        if let input = x.baseAddress, let output = out.baseAddress {
          calib_torch_pow(Int32(WideKernels.width), input, output, x.count, y)
        }
      }
      initialized = x.count
    }
  }
}

/// `d ^ p = 2 ^ (p · log2 d)` in float32 for 1.2 ≤ p ≤ 4, within ``maximumError`` (4.5) ulp
/// of the exact power over the whole clamped range. Measured over every input (a C copy of
/// the kernel; `FastPowerBoundTests` samples a million per norm): at most 3.33 ulp at
/// p = 2.4, 4.00 at 3.7 and 4.31 at 4, the worst where the mantissa is near √2; at p = 2.4,
/// 75 % of results are correctly rounded and 96 % within 1 ulp.
///
/// ```
/// d = 2^e · m,  m ∈ [√½, √2)          integer bit arithmetic, no compares
/// log2 m = s · P(s²),  s = (m-1)/(m+1)   P: degree-3 minimax of 2·atanh(s)/(s·ln 2), scaled by p
/// p · log2 d = A + B,  A = p_hi · e (exact: p_hi has 12 significant bits),  B = p_lo · e + p · log2 m
/// n = round(A + B),  f = (A - n) + B ∈ [-½, ½]  (A - n is exact)
/// d ^ p = Q(f) · 2^n                    Q: degree-6 minimax of 2^f (relative error 2e-9)
/// ```
/// P, B and Q are evaluated with fused multiply-adds (one rounding per Horner step).
///
/// Range: d is clamped to [`floor`, `ceiling`]: 2^-⌊120/p⌋ (so 0 and subnormals give about
/// 2^-120 instead of 0 — far below anything a sum of errors can resolve) up to the largest
/// d with n ≤ 125, so every term is finite and positive. Terms of clamped d are wrong, but
/// tiny or at least ``hugeTerm``, which callers treat as untrustworthy.
///
/// Not torch's power (``TorchPower`` is, at about four times the cost): the MSE search uses
/// it only where it can prove that the exact terms would pick the same steps
/// (``MSEGridSearch``'s certified float32 errors).
struct FastPower: LanePower {
  let norm: Float
  // Scalars, splatted at use: vector-typed fields hide that they are splats, and the
  // optimizer then splits lanes apart.
  let high: Float
  let low: Float
  let floor: Float
  let ceiling: Float
  let l0: Float, l1: Float, l2: Float, l3: Float
  let x0: Float, x1: Float, x2: Float, x3: Float, x4: Float, x5: Float, x6: Float
  /// Terms this large may come from a clamped d.
  static let hugeTerm: Float = 0x1p100
  /// The most a result may differ from the exact power, in ulp of the exact power rounded
  /// to float32: what certification assumes (see `MSEGridSearch+Certified.swift`).
  static let maximumError: Double = 4.5

  /// Coefficients of 2^f on [-½, ½], constant term first.
  static let exp2Coefficients: [Double] = [
    1.0000000005317624, 0.6931472058501342, 0.24022647059270377, 0.05550328578030617,
    0.009618470475043061, 0.0013400000583218296, 0.00015350840790426067,
  ]
  /// Coefficients of atanh(s) / s in z = s² on [0, (3 - 2√2)²], constant term first.
  static let atanhCoefficients: [Double] = [
    0.9999999993077939, 0.3333340815670497, 0.1998738051108921, 0.14963221100544397,
  ]

  init?(norm: Float) {
    guard norm >= 1.2 && norm <= 4 else { return nil }
    self.norm = norm
    let p = Double(norm)
    let head = Float(bitPattern: norm.bitPattern & 0xFFFF_F000)
    high = head
    low = norm - head
    floor = Float(sign: .plus, exponent: -Int((120 / p).rounded(.down)), significand: 1)
    // log2(m) = s · (2 / ln 2) · atanh(s) / s, times p folded into the coefficients.
    let k = p * 2 / 0.693_147_180_559_945_309_4
    let c = Self.atanhCoefficients.map { Float($0 * k) }
    (l0, l1, l2, l3) = (c[0], c[1], c[2], c[3])
    let x = Self.exp2Coefficients.map { Float($0) }
    (x0, x1, x2, x3, x4, x5, x6) = (x[0], x[1], x[2], x[3], x[4], x[5], x[6])
    // d ≤ 2^(125 / p) gives n ≤ 125; one float32 step inside for rounding.
    ceiling = Float(exp2(124.9 / p))
  }

  /// d → (e, s): the exponent as a float and s = (m - 1) / (m + 1).
  @inline(__always)
  func begin(_ d: Lanes) -> (Lanes, Lanes) {
    // Per lane, as maxps and minps (see ``clampLanes(_:_:_:)``).
    let v = clampLanes(d, floor, ceiling)
    // Adding 2^23 - bits(√½) carries into the exponent exactly when the mantissa is ≥ √2.
    let shifted = v.bits &+ LaneBits(repeating: 0x004A_FB0D)
    // Exponent as a float via the 2^23 trick: (2^23 + E) - (2^23 + 127) = E - 127.
    let e = Lanes(bits: (shifted &>> 23) | LaneBits(repeating: 0x4B00_0000)) - Lanes(repeating: 8_388_735)
    let m = Lanes(bits: (shifted & LaneBits(repeating: 0x007F_FFFF)) &+ LaneBits(repeating: 0x3F35_04F3))
    // (m - 1) / ((m - 1) + 2) rather than (m - 1) / (m + 1): the same values (m - 1 is
    // exact), but two constants added to one vector get regrouped across lanes.
    let t = m - Lanes(repeating: 1)
    return (e, t / (t + Lanes(repeating: 2)))
  }

  /// (e, s) → (n + 1.5·2^23, f): the rounded exponent, still biased in the sum's low
  /// bits, and the fraction.
  @inline(__always)
  func middle(_ stage: (Lanes, Lanes)) -> (Lanes, Lanes) {
    let (e, s) = stage
    let z = s * s
    // Horner throughout: independent subexpressions (Estrin) get regrouped across lanes.
    // Fused: one rounding per step, and half the instructions of a multiply and an add.
    var pLog = Lanes(repeating: l3)
    pLog = Lanes(repeating: l2).addingProduct(pLog, z)
    pLog = Lanes(repeating: l1).addingProduct(pLog, z)
    pLog = Lanes(repeating: l0).addingProduct(pLog, z)
    pLog = pLog * s
    let a = Lanes(repeating: high) * e
    let b = pLog.addingProduct(Lanes(repeating: low), e)
    let magic = Lanes(repeating: roundingMagic)
    let biased = (a + b) + magic
    let f = (a - (biased - magic)) + b
    return (biased, f)
  }

  /// (n + 1.5·2^23, f) → Q(f) · 2^n.
  @inline(__always)
  func finish(_ stage: (Lanes, Lanes)) -> Lanes {
    let (biased, f) = stage
    var q = Lanes(repeating: x6)
    q = Lanes(repeating: x5).addingProduct(q, f)
    q = Lanes(repeating: x4).addingProduct(q, f)
    q = Lanes(repeating: x3).addingProduct(q, f)
    q = Lanes(repeating: x2).addingProduct(q, f)
    q = Lanes(repeating: x1).addingProduct(q, f)
    q = Lanes(repeating: x0).addingProduct(q, f)
    // 2^n from the integer in the biased sum's low bits: n + 127 is the exponent field.
    let scale = Lanes(bits: (biased.bits &+ LaneBits(repeating: 127)) &<< 23)
    return q * scale
  }
}
