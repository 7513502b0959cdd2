/// Deterministic values for benchmark data, with no test-support dependency: a counter
/// hashed by MurmurHash3's 64-bit finalizer, four uniform draws summed and centred, which
/// is close enough to normal for timing observers (an Irwin–Hall distribution, variance 1).
struct BenchNoise {
  private var counter: UInt64

  init(seed: UInt64) { counter = seed &* 0x9E37_79B9_7F4A_7C15 }

  private mutating func uniform() -> Float {
    counter &+= 1
    var z = counter
    z = (z ^ (z >> 33)) &* 0xFF51_AFD7_ED55_8CCD
    z = (z ^ (z >> 33)) &* 0xC4CE_B9FE_1A85_EC53
    z ^= z >> 33
    return Float(z >> 40) / Float(1 << 24)
  }

  /// A value of mean 0 and variance 1.
  mutating func next() -> Float {
    (uniform() + uniform() + uniform() + uniform() - 2) * 1.7320508
  }
}
