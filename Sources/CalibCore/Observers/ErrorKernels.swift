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
typealias Lanes = SIMD4<Float>
typealias LaneBits = SIMD4<UInt32>

extension SIMD4 where Scalar == Float {
  @inline(__always) var bits: LaneBits { unsafeBitCast(self, to: LaneBits.self) }
  @inline(__always) init(bits: LaneBits) { self = unsafeBitCast(bits, to: Lanes.self) }
}

/// `1.5 · 2^23`: adding and subtracting it rounds a float32 of magnitude below 2^22 to an
/// integer, ties to even — exactly `rounded(.toNearestOrEven)`. The low mantissa bits of
/// the sum hold that integer (offset by 2^22) in two's complement.
let roundingMagic: Float = 12_582_912

// MARK: - Quantize-dequantize

/// QDQ of four values with one effective scale and zero point.
protocol LaneQDQ: Sendable {
  /// The largest |level - zero point| a dequantized value can have, in scale units.
  var levelReach: Float { get }
  func qdq(_ x: Lanes, scale s: Lanes, zeroPoint zp: Lanes, scalarScale: Float, scalarZeroPoint: Float) -> Lanes
}

/// Integer levels: `((clamp(x / s + zp, q_min, q_max) rounded) - zp) · s` in the exact
/// float32 order of ``FakeQuantizer``. Valid while |q_min|, |q_max| ≤ 2^22, where the
/// rounding trick is exact (int types up to 23 bits).
struct IntegerQDQ: LaneQDQ {
  let lowerBound: Lanes
  let upperBound: Lanes
  let levelReach: Float

  init?(_ args: QuantizationArgs) {
    guard args.type == .int else { return nil }
    let range = QuantizedRange(args)
    let limit: Float = 4_194_304  // 2^22
    guard range.lowerBound.magnitude <= limit && range.upperBound.magnitude <= limit else { return nil }
    lowerBound = Lanes(repeating: range.lowerBound)
    upperBound = Lanes(repeating: range.upperBound)
    levelReach = Swift.max(range.lowerBound.magnitude, range.upperBound.magnitude)
  }

  @inline(__always)
  func qdq(_ x: Lanes, scale s: Lanes, zeroPoint zp: Lanes, scalarScale: Float, scalarZeroPoint: Float) -> Lanes {
    var y = x / s + zp
    // `if y < q_min { y = q_min }; if y > q_max { y = q_max }`, NaN passing, as the scalar code.
    y.replace(with: lowerBound, where: y .< lowerBound)
    y.replace(with: upperBound, where: y .> upperBound)
    let magic = Lanes(repeating: roundingMagic)
    let level = (y + magic) - magic
    return (level - zp) * s
  }
}

/// ``IntegerQDQ`` for symmetric arguments, whose zero point is always 0: adding and
/// subtracting it only turns -0.0 into +0.0, which cannot change |QDQ(x) - x|.
struct SymmetricIntegerQDQ: LaneQDQ {
  let lowerBound: Lanes
  let upperBound: Lanes
  let levelReach: Float

  init?(_ args: QuantizationArgs) {
    guard args.symmetric, let integer = IntegerQDQ(args) else { return nil }
    (lowerBound, upperBound, levelReach) = (integer.lowerBound, integer.upperBound, integer.levelReach)
  }

  @inline(__always)
  func qdq(_ x: Lanes, scale s: Lanes, zeroPoint zp: Lanes, scalarScale: Float, scalarZeroPoint: Float) -> Lanes {
    var y = x / s
    y.replace(with: lowerBound, where: y .< lowerBound)
    y.replace(with: upperBound, where: y .> upperBound)
    let magic = Lanes(repeating: roundingMagic)
    return ((y + magic) - magic) * s
  }
}

/// Any other type (FP8, FP4, very wide ints): ``FakeQuantizer`` lane by lane.
struct ScalarQDQ: LaneQDQ {
  let quantizer: FakeQuantizer
  let levelReach: Float

  init(_ args: QuantizationArgs) {
    quantizer = FakeQuantizer(args)
    let range = QuantizedRange(args)
    levelReach = Swift.max(range.lowerBound.magnitude, range.upperBound.magnitude)
  }

  @inline(__always)
  func qdq(_ x: Lanes, scale s: Lanes, zeroPoint zp: Lanes, scalarScale: Float, scalarZeroPoint: Float) -> Lanes {
    var out = Lanes()
    for k in 0..<4 { out[k] = quantizer.qdq(x[k], effectiveScale: scalarScale, zeroPoint: scalarZeroPoint) }
    return out
  }
}

// MARK: - |d| ^ norm

/// `d ^ norm` for four non-negative differences.
protocol LanePower: Sendable {
  var norm: Float { get }
  /// Whether ``power(_:)`` is exact enough for every d ≤ `bound`.
  func handles(upTo bound: Double) -> Bool
  func power(_ d: Lanes) -> Lanes
}

/// norm 2: `d · d`, exact as torch's.
struct SquarePower: LanePower {
  var norm: Float { 2 }
  func handles(upTo bound: Double) -> Bool { true }
  @inline(__always) func power(_ d: Lanes) -> Lanes { d * d }
}

/// Any norm: `powf` lane by lane (correctly rounded in glibc).
struct ScalarPower: LanePower {
  let norm: Float

  func handles(upTo bound: Double) -> Bool { true }

  @inline(__always) func power(_ d: Lanes) -> Lanes {
    var out = Lanes()
    for k in 0..<4 { out[k] = powf(d[k], norm) }
    return out
  }
}

/// `d ^ p = 2 ^ (p · log2 d)` in float32 for 1.2 ≤ p ≤ 4, within 3 ulp of the correctly
/// rounded power (at p = 2.4: 73 % exact, 99.5 % within 1 ulp, on d spread over 1e-12…100).
///
/// ```
/// d = 2^e · m,  m ∈ [√½, √2)          integer bit arithmetic, no compares
/// log2 m = s · P(s²),  s = (m-1)/(m+1)   P: degree-3 minimax of 2·atanh(s)/(s·ln 2), scaled by p
/// p · log2 d = A + B,  A = p_hi · e (exact: p_hi has 12 significant bits),  B = p_lo · e + p · log2 m
/// n = round(A + B),  f = (A - n) + B ∈ [-½, ½]  (A - n is exact)
/// d ^ p = Q(f) · 2^max(n, -127)        Q: degree-6 minimax of 2^f (relative error 2e-9)
/// ```
/// Edges: 0 and subnormal d give n ≤ -152, hence 0 — exact for p ≥ 1.2, where such powers
/// underflow in float32 anyway; results below 2^-126 flush to 0. Results must stay below
/// 2^127: callers check ``handles(upTo:)`` with a bound on d first.
struct FastPower: LanePower {
  let norm: Float
  let high: Lanes
  let low: Lanes
  let l0: Lanes, l1: Lanes, l2: Lanes, l3: Lanes
  let x0: Lanes, x1: Lanes, x2: Lanes, x3: Lanes, x4: Lanes, x5: Lanes, x6: Lanes
  /// d below this gives n ≤ 126.
  let limit: Double

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
    high = Lanes(repeating: head)
    low = Lanes(repeating: norm - head)
    // log2(m) = s · (2 / ln 2) · atanh(s) / s, times p folded into the coefficients.
    let k = p * 2 / 0.693_147_180_559_945_309_4
    let c = Self.atanhCoefficients.map { Lanes(repeating: Float($0 * k)) }
    (l0, l1, l2, l3) = (c[0], c[1], c[2], c[3])
    let x = Self.exp2Coefficients.map { Lanes(repeating: Float($0)) }
    (x0, x1, x2, x3, x4, x5, x6) = (x[0], x[1], x[2], x[3], x[4], x[5], x[6])
    limit = exp2(125.0 / p)
  }

  func handles(upTo bound: Double) -> Bool { bound < limit }

  @inline(__always)
  func power(_ d: Lanes) -> Lanes {
    // Adding 2^23 - bits(√½) carries into the exponent exactly when the mantissa is ≥ √2.
    let shifted = d.bits &+ LaneBits(repeating: 0x004A_FB0D)
    // Exponent as a float via the 2^23 trick: (2^23 + E) - (2^23 + 127) = E - 127.
    let e = Lanes(bits: (shifted &>> 23) | LaneBits(repeating: 0x4B00_0000)) - Lanes(repeating: 8_388_735)
    let m = Lanes(bits: (shifted & LaneBits(repeating: 0x007F_FFFF)) &+ LaneBits(repeating: 0x3F35_04F3))
    let one = Lanes(repeating: 1)
    let s = (m - one) / (m + one)
    let z = s * s
    let pLog = s * (l0 + z * (l1 + z * (l2 + z * l3)))
    let a = high * e
    let b = low * e + pLog
    let magic = Lanes(repeating: roundingMagic)
    var n = ((a + b) + magic) - magic
    let f = (a - n) + b
    let q = x0 + f * (x1 + f * (x2 + f * (x3 + f * (x4 + f * (x5 + f * x6)))))
    // 2^n from the integer in the rounded sum's low bits; n ≥ -127 keeps the biased
    // exponent n + 127 in 0 (scale 0) … 254.
    n.replace(with: Lanes(repeating: -127), where: n .< Lanes(repeating: -127))
    let scale = Lanes(bits: ((n + magic).bits &+ LaneBits(repeating: 127)) &<< 23)
    return q * scale
  }
}
