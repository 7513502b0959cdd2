#include "Kernels8.h"
#include "LineStream.h"
#include "Prefetch.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512BW __attribute__((target("avx512f,avx512bw")))

// A bf16 value's key, `bits ^ ((bits >> 15) & 0x7FFF)` with an arithmetic shift, orders
// values as their floats do (CalibCore's `BFloat16Order`), -0 below +0 and NaNs past the
// infinities of their sign; the map is its own inverse.
// The kernels below take ranges without computing keys. In sign-magnitude order (the
// keys'), three integer reductions of the raw bits decide a range: the largest as signed
// 16-bit integers (`s`, the largest value when any has its sign bit clear), the largest
// as unsigned (`u`, the lowest value when any has it set) and the smallest as unsigned
// (`n`: the lowest value when none has it set, and else the highest, the negative one
// nearest zero). That is three integer operations per vector where a key and its minimum
// and maximum took five, with the same results for every input: ±0, infinities and NaNs
// fall where their keys do (`rawLow`, `rawHigh`). A run with values of both signs needs
// only `s` and `u`, and whether it has both shows in them (`u` has the sign bit set, `s`
// has it clear), so runs of 32 or more take two operations per vector and read a block
// of sixteen runs again for `n` only when one of them is all of one sign.

/// A range's lowest value's bits from its three reductions (low 16 bits of 32-bit lanes,
/// the high bits clear): `u` if some value is negative, else `n`.
AVX512BW static inline __m512i rawLow(__m512i u, __m512i n) {
  __mmask16 negative = _mm512_cmpge_epu32_mask(u, _mm512_set1_epi32(0x8000));
  return _mm512_mask_blend_epi32(negative, n, u);
}

/// Its highest value's bits: `s` if some value is not negative, else `n`.
AVX512BW static inline __m512i rawHigh(__m512i s, __m512i n) {
  __mmask16 nonNegative = _mm512_cmplt_epu32_mask(n, _mm512_set1_epi32(0x8000));
  return _mm512_mask_blend_epi32(nonNegative, n, s);
}

/// One run's `length` values (a multiple of 16) folded into 16 partial reductions of the
/// first two kinds (`s`, `u`, see above): 32 at a time, then a last 16.
AVX512BW static inline void fold(const uint16_t *p, size_t length, __m256i *s, __m256i *u) {
  __m512i ms = _mm512_set1_epi16(INT16_MIN), mu = _mm512_setzero_si512();
  size_t i = 0;
  for (; i + 32 <= length; i += 32) {
    _mm_prefetch((const char *)(p + i) + calib_prefetch_ahead, _MM_HINT_T0);
    __m512i x = _mm512_loadu_si512(p + i);
    ms = _mm512_max_epi16(ms, x);
    mu = _mm512_max_epu16(mu, x);
  }
  __m256i a = _mm256_max_epi16(_mm512_castsi512_si256(ms), _mm512_extracti64x4_epi64(ms, 1));
  __m256i b = _mm256_max_epu16(_mm512_castsi512_si256(mu), _mm512_extracti64x4_epi64(mu, 1));
  if (i < length) {
    __m256i x = _mm256_loadu_si256((const __m256i *)(p + i));
    a = _mm256_max_epi16(a, x);
    b = _mm256_max_epu16(b, x);
  }
  *s = a;
  *u = b;
}

/// The third kind (`n`) of one run, folded the same way.
AVX512BW static inline __m256i foldMin(const uint16_t *p, size_t length) {
  __m512i mn = _mm512_set1_epi16(-1);
  size_t i = 0;
  for (; i + 32 <= length; i += 32) mn = _mm512_min_epu16(mn, _mm512_loadu_si512(p + i));
  __m256i c = _mm256_min_epu16(_mm512_castsi512_si256(mn), _mm512_extracti64x4_epi64(mn, 1));
  if (i < length) c = _mm256_min_epu16(c, _mm256_loadu_si256((const __m256i *)(p + i)));
  return c;
}

/// Sixteen runs' partial reductions after the first level: `s[j]`'s 128-bit lane L holds
/// run 4j + L's eight. Reduced across lanes by `OP` all at once, run g's result lands in
/// the low 16 bits of 32-bit lane g. Integer min and max are exact in any order.
#define REDUCE(NAME, OP)                                                                    \
  AVX512BW static inline __m512i NAME(const __m512i s[4]) {                                 \
    __m512i t[2];                                                                           \
    for (int j = 0; j < 2; j++) {                                                           \
      /* 128-bit lane L: run 8j + L's four partials, then run 8j + 4 + L's. */              \
      __m512i x = _mm512_unpacklo_epi64(s[2 * j], s[2 * j + 1]);                             \
      __m512i y = _mm512_unpackhi_epi64(s[2 * j], s[2 * j + 1]);                             \
      t[j] = OP(x, y);                                                                      \
    }                                                                                       \
    /* 32-bit element e of 128-bit lane L: run L + 4e's two partials. */                    \
    __m512 a = _mm512_castsi512_ps(t[0]), b = _mm512_castsi512_ps(t[1]);                    \
    __m512i u = OP(_mm512_castps_si512(_mm512_shuffle_ps(a, b, 0x88)),                      \
                   _mm512_castps_si512(_mm512_shuffle_ps(a, b, 0xDD)));                     \
    u = OP(u, _mm512_srli_epi32(u, 16));                                                    \
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15); \
    return _mm512_permutexvar_epi32(order, u);                                              \
  }

REDUCE(highestSigned, _mm512_max_epi16)
REDUCE(highestUnsigned, _mm512_max_epu16)
REDUCE(lowestUnsigned, _mm512_min_epu16)

/// The first level for runs 4j .. 4j + 3, given as `[run 4j | run 4j + 1]` and `[run 4j + 2
/// | run 4j + 3]`: each run's first eight partials against its second eight.
AVX512BW static inline void firstLevel(__m512i a, __m512i b, __m512i *x, __m512i *y) {
  *x = _mm512_shuffle_i32x4(a, b, 0x88);
  *y = _mm512_shuffle_i32x4(a, b, 0xDD);
}

/// The float32 values of sixteen values' bits held in the low halves of 32-bit lanes:
/// bf16 bits shifted into place, or (`float16`) f16 bits converted, exactly.
AVX512BW static inline __m512 values(__m512i bits, const int float16) {
  if (float16) return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(bits));
  return _mm512_castsi512_ps(_mm512_slli_epi32(bits, 16));
}

/// Lanes holding a NaN, or ±0, whose sign the float reduction takes from its own order,
/// from the bits in the low halves of 32-bit lanes: a magnitude m with m - 1 (wrapping)
/// at least the infinity's bits. Integer compares: for f16 clang turned the equivalent
/// float compare on converted values into sixteen scalar conversions and compares.
AVX512BW static inline __mmask16 unclean(__m512i bits, const int float16) {
  __m512i magnitude = _mm512_and_si512(bits, _mm512_set1_epi32(0x7FFF));
  return _mm512_cmpge_epu32_mask(
    _mm512_sub_epi32(magnitude, _mm512_set1_epi32(1)), _mm512_set1_epi32(float16 ? 0x7C00 : 0x7F80));
}

/// Writes sixteen runs' ranges from their lowest and highest values' bits (low 16 bits of
/// 32-bit lanes), and lowers `lowest` and raises `highest` to them lane by lane; returns
/// the lanes that need the float path.
AVX512BW __attribute__((always_inline)) static inline __mmask16 storeBits(
  __m512i lowBits, __m512i highBits, float *mins, float *maxs, __m512 *lowest, __m512 *highest, const int float16
) {
  __m512 low = values(lowBits, float16), high = values(highBits, float16);
  _mm512_storeu_ps(mins, low);
  _mm512_storeu_ps(maxs, high);
  *lowest = _mm512_min_ps(*lowest, low);
  *highest = _mm512_max_ps(*highest, high);
  return unclean(lowBits, float16) | unclean(highBits, float16);
}

/// ``storeBits`` from the three kinds' partial reductions of sixteen runs.
AVX512BW __attribute__((always_inline)) static inline __mmask16 store(
  const __m512i s[4], const __m512i u[4], const __m512i n[4], float *mins, float *maxs, __m512 *lowest,
  __m512 *highest, const int float16
) {
  const __m512i low16 = _mm512_set1_epi32(0xFFFF);
  __m512i ls = _mm512_and_si512(highestSigned(s), low16);
  __m512i lu = _mm512_and_si512(highestUnsigned(u), low16);
  __m512i ln = _mm512_and_si512(lowestUnsigned(n), low16);
  return storeBits(rawLow(lu, ln), rawHigh(ls, ln), mins, maxs, lowest, highest, float16);
}

/// The runs' combined range from the lane-wise extremes; only used when every run was
/// clean (no NaN, no zero end), where float min and max are exact in any order.
AVX512BW static inline void combine(__m512 lowest, __m512 highest, float *low, float *high) {
  *low = _mm512_reduce_min_ps(lowest);
  *high = _mm512_reduce_max_ps(highest);
}

/// Runs of 16 (NVFP4's groups): two runs to a register, and the first level's shuffles
/// shared by the minima and the maxima.
AVX512BW __attribute__((always_inline)) static inline int keyRuns16(
  const uint16_t *bits, size_t count, size_t stride, float *mins, float *maxs, float *low, float *high,
  const int float16
) {
  __mmask16 bad = 0;
  __m512 lowest = _mm512_set1_ps(__builtin_inff()), highest = _mm512_set1_ps(-__builtin_inff());
  for (size_t q = 0; q + 16 <= count; q += 16) {
    const uint16_t *p = bits + q * stride;
    if (stride == 16) {
      for (int line = 0; line < 8; line++) _mm_prefetch((const char *)p + calib_prefetch_ahead + 64 * line, _MM_HINT_T0);
    }
    __m512i z[8];
#pragma clang loop unroll(full)
    for (int j = 0; j < 8; j++) {
      if (stride == 16) {
        // Contiguous runs: two to a plain load.
        z[j] = _mm512_loadu_si512(p + 32 * j);
      } else {
        __m256i a = _mm256_loadu_si256((const __m256i *)(p + 2 * j * stride));
        __m256i b = _mm256_loadu_si256((const __m256i *)(p + (2 * j + 1) * stride));
        z[j] = _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
      }
    }
    __m512i ms[4], mu[4], mn[4];
#pragma clang loop unroll(full)
    for (int j = 0; j < 4; j++) {
      __m512i x, y;
      firstLevel(z[2 * j], z[2 * j + 1], &x, &y);
      ms[j] = _mm512_max_epi16(x, y);
      mu[j] = _mm512_max_epu16(x, y);
      mn[j] = _mm512_min_epu16(x, y);
    }
    bad |= store(ms, mu, mn, mins + q, maxs + q, &lowest, &highest, float16);
  }
  combine(lowest, highest, low, high);
  return bad == 0;
}

/// Two runs' partial reductions of the first two kinds, run `a`'s 16 in the low half of
/// each register and `b`'s in the high. `unrolled` (for a `length` known at compile time,
/// a multiple of 32): each run reduced in registers to 32 partials with no loop, and the
/// pair folded once; otherwise each run folded to 16 by ``fold``.
AVX512BW __attribute__((always_inline)) static inline void pairPartials(
  const uint16_t *a, const uint16_t *b, const size_t length, const int unrolled, __m512i *s, __m512i *u
) {
  if (!unrolled) {
    __m256i sa, ua, sb, ub;
    fold(a, length, &sa, &ua);
    fold(b, length, &sb, &ub);
    *s = _mm512_inserti64x4(_mm512_castsi256_si512(sa), sb, 1);
    *u = _mm512_inserti64x4(_mm512_castsi256_si512(ua), ub, 1);
    return;
  }
  const uint16_t *runs[2] = {a, b};
  __m512i rs[2], ru[2];
#pragma clang loop unroll(full)
  for (int r = 0; r < 2; r++) {
    rs[r] = ru[r] = _mm512_loadu_si512(runs[r]);
#pragma clang loop unroll(full)
    for (size_t i = 32; i < length; i += 32) {
      __m512i x = _mm512_loadu_si512(runs[r] + i);
      rs[r] = _mm512_max_epi16(rs[r], x);
      ru[r] = _mm512_max_epu16(ru[r], x);
    }
  }
  *s = _mm512_max_epi16(_mm512_shuffle_i64x2(rs[0], rs[1], 0x44), _mm512_shuffle_i64x2(rs[0], rs[1], 0xEE));
  *u = _mm512_max_epu16(_mm512_shuffle_i64x2(ru[0], ru[1], 0x44), _mm512_shuffle_i64x2(ru[0], ru[1], 0xEE));
}

/// The third kind (`n`) of sixteen runs, reduced (low 16 bits of 32-bit lane g, the high
/// bits clear): needed only where some run's values all share a sign, which for a run of
/// 32 or more values of mixed data is rare, so it reads the runs again.
AVX512BW __attribute__((noinline)) static __m512i lowestUnsignedRuns(const uint16_t *p, size_t stride, size_t length) {
  __m512i mn[4];
  for (int j = 0; j < 4; j++) {
    __m512i pair[2];
    for (int h = 0; h < 2; h++) {
      const uint16_t *a = p + (4 * j + 2 * h) * stride;
      pair[h] = _mm512_inserti64x4(_mm512_castsi256_si512(foldMin(a, length)), foldMin(a + stride, length), 1);
    }
    __m512i x, y;
    firstLevel(pair[0], pair[1], &x, &y);
    mn[j] = _mm512_min_epu16(x, y);
  }
  return _mm512_and_si512(lowestUnsigned(mn), _mm512_set1_epi32(0xFFFF));
}

/// Longer runs, four at a time as two pairs of partial keys (``pairPartials``).
///
/// `unrolled` for the common group sizes: with no loop per run and no narrowing of each
/// run's partials before the pair is folded, two threads on 32 MiB, alternating with a
/// plain read round by round (2026-12-05), took 1.13-1.19 of the read at `length` 64
/// against 1.23-1.26 folded; at 128 and 256 the same as folded (1.08-1.15) at 90 GB/s,
/// and 1.00-1.08 against 1.29-1.32 in an hour when the read ran at 110 GB/s. At 32, one
/// vector per run, it was slower (1.82 against 1.59).
AVX512BW __attribute__((always_inline)) static inline int keyRuns(
  const uint16_t *bits, size_t count, size_t stride, const size_t length, float *mins, float *maxs, float *low,
  float *high, const int float16, const int unrolled
) {
  __mmask16 bad = 0;
  __m512 lowest = _mm512_set1_ps(__builtin_inff()), highest = _mm512_set1_ps(-__builtin_inff());
  for (size_t q = 0; q + 16 <= count; q += 16) {
    __m512i ms[4], mu[4];
    for (int j = 0; j < 4; j++) {
      const uint16_t *p = bits + (q + 4 * j) * stride;
      __m512i s01, u01, s23, u23, x, y;
      pairPartials(p, p + stride, length, unrolled, &s01, &u01);
      pairPartials(p + 2 * stride, p + 3 * stride, length, unrolled, &s23, &u23);
      firstLevel(s01, s23, &x, &y);
      ms[j] = _mm512_max_epi16(x, y);
      firstLevel(u01, u23, &x, &y);
      mu[j] = _mm512_max_epu16(x, y);
    }
    const __m512i low16 = _mm512_set1_epi32(0xFFFF), sign = _mm512_set1_epi32(0x8000);
    __m512i ls = _mm512_and_si512(highestSigned(ms), low16), lu = _mm512_and_si512(highestUnsigned(mu), low16);
    // A run has a negative value if its largest unsigned bits have the sign set, and a
    // value that is not negative if its largest signed bits do not.
    __mmask16 negative = _mm512_cmpge_epu32_mask(lu, sign), nonNegative = _mm512_cmplt_epu32_mask(ls, sign);
    __m512i lowBits = lu, highBits = ls;
    if ((__mmask16)(negative & nonNegative) != (__mmask16)0xFFFF) {
      // Some run is all of one sign: its other end is the third kind's.
      __m512i ln = lowestUnsignedRuns(bits + q * stride, stride, length);
      lowBits = rawLow(lu, ln);
      highBits = rawHigh(ls, ln);
    }
    bad |= storeBits(lowBits, highBits, mins + q, maxs + q, &lowest, &highest, float16);
  }
  combine(lowest, highest, low, high);
  return bad == 0;
}

/// Runs of any `length`, the common group sizes as constants.
AVX512BW __attribute__((always_inline)) static inline int anyRuns(
  const uint16_t *bits, size_t count, size_t stride, size_t length, float *mins, float *maxs, float *low, float *high,
  const int float16
) {
  switch (length) {
  case 16: return keyRuns16(bits, count, stride, mins, maxs, low, high, float16);
  case 64: return keyRuns(bits, count, stride, 64, mins, maxs, low, high, float16, 1);
  case 128: return keyRuns(bits, count, stride, 128, mins, maxs, low, high, float16, 1);
  case 256: return keyRuns(bits, count, stride, 256, mins, maxs, low, high, float16, 1);
  default: return keyRuns(bits, count, stride, length, mins, maxs, low, high, float16, 0);
  }
}

/// NVFP4's contiguous groups of 16 under a symmetric memoryless observer: each group's
/// largest magnitude. `bits & 0x7FFF` is |x|'s bits, and non-negative bf16 values order as
/// those integers do (a NaN's above ∞'s), so the keys' reduction applies as it is.
AVX512BW static int magnitudeRuns16(const uint16_t *bits, size_t count, uint16_t *out, uint16_t *largest, int stream_out) {
  const __m512i magnitude = _mm512_set1_epi16(0x7FFF), low16 = _mm512_set1_epi32(0xFFFF);
  __m512i top = _mm512_setzero_si512();
  // With `stream_out`, two steps' magnitudes go out as one 64-byte vector of streaming
  // stores (LineStream.h), as the float32 kernel's do, where `out` is aligned as a float
  // (any array's is).
  const int streams = stream_out && ((uintptr_t)out & 3) == 0;
  calib_line_stream stream = calib_line_stream_start((float *)out);
  __m256i pending = _mm256_setzero_si256();
  size_t pairs = 0;
  for (size_t q = 0; q + 16 <= count; q += 16) {
    // No software prefetch: the hardware prefetcher alone keeps this loop at a plain
    // read's speed, 0.99-1.04 of it on 32 MiB and 0.90 on 128 MiB, against 1.11-1.22 with
    // the range kernels' 16 KiB prefetch (two threads, alternating round by round, on
    // 2026-12-04). keyRuns16 above, whose outputs are eight times larger, keeps it: 1.56
    // of a read with it, 1.72-1.92 without.
    const uint16_t *p = bits + q * 16;
    __m512i hi[4];
#pragma clang loop unroll(full)
    for (int j = 0; j < 4; j++) {
      __m512i x, y;
      firstLevel(_mm512_and_si512(_mm512_loadu_si512(p + 64 * j), magnitude),
                 _mm512_and_si512(_mm512_loadu_si512(p + 64 * j + 32), magnitude), &x, &y);
      hi[j] = _mm512_max_epi16(x, y);
    }
    // Group g's magnitude in the low half of 32-bit lane g; the high halves are discarded.
    __m512i m = _mm512_and_si512(highestSigned(hi), low16);
    __m256i packed = _mm512_cvtepi32_epi16(m);
    if (!streams) {
      _mm256_storeu_si256((__m256i *)(out + q), packed);
    } else if ((q / 16) % 2 == 0) {
      pending = packed;
    } else {
      calib_line_stream_put(&stream, pairs++, _mm512_castsi512_ps(_mm512_inserti64x4(_mm512_castsi256_si512(pending), packed, 1)));
    }
    top = _mm512_max_epi32(top, m);
  }
  if (streams) {
    calib_line_stream_finish(&stream, pairs);
    if ((count / 16) % 2 == 1) _mm256_storeu_si256((__m256i *)(out + count - 16), pending);
  }
  int h = _mm512_reduce_max_epi32(top);
  *largest = (uint16_t)h;
  return h < 0x7F80;
}

/// The smallest and largest key of `count` values, from the three reductions of their
/// raw bits (see above): 64 per step in two sets of accumulators, the tail under a mask.
/// No values: `INT16_MAX` and `INT16_MIN`.
AVX512BW static void keyRange(const uint16_t *bits, size_t count, int16_t *low, int16_t *high) {
  if (count == 0) {
    *low = INT16_MAX;
    *high = INT16_MIN;
    return;
  }
  __m512i ms[2] = {_mm512_set1_epi16(INT16_MIN), _mm512_set1_epi16(INT16_MIN)};
  __m512i mu[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
  __m512i mn[2] = {_mm512_set1_epi16(-1), _mm512_set1_epi16(-1)};
  size_t i = 0;
  for (; i + 64 <= count; i += 64) {
    _mm_prefetch((const char *)(bits + i) + calib_prefetch_ahead, _MM_HINT_T0);
    _mm_prefetch((const char *)(bits + i) + calib_prefetch_ahead + 64, _MM_HINT_T0);
    for (int k = 0; k < 2; k++) {
      __m512i x = _mm512_loadu_si512(bits + i + 32 * k);
      ms[k] = _mm512_max_epi16(ms[k], x);
      mu[k] = _mm512_max_epu16(mu[k], x);
      mn[k] = _mm512_min_epu16(mn[k], x);
    }
  }
  if (i < count) {
    // The tail under a mask; masked-off lanes keep the accumulators' own values.
    __mmask32 masks[2] = {
      count - i >= 32 ? ~(__mmask32)0 : (((__mmask32)1 << (count - i)) - 1),
      count - i <= 32 ? 0 : (((__mmask32)1 << (count - i - 32)) - 1),
    };
    for (int k = 0; k < 2; k++) {
      __m512i x = _mm512_maskz_loadu_epi16(masks[k], bits + i + 32 * k);
      ms[k] = _mm512_mask_max_epi16(ms[k], masks[k], ms[k], x);
      mu[k] = _mm512_mask_max_epu16(mu[k], masks[k], mu[k], x);
      mn[k] = _mm512_mask_min_epu16(mn[k], masks[k], mn[k], x);
    }
  }
  __m512i vs = _mm512_max_epi16(ms[0], ms[1]), vu = _mm512_max_epu16(mu[0], mu[1]), vn = _mm512_min_epu16(mn[0], mn[1]);
  int16_t ss[32];
  uint16_t us[32], ns[32];
  _mm512_storeu_si512(ss, vs);
  _mm512_storeu_si512(us, vu);
  _mm512_storeu_si512(ns, vn);
  int16_t a = INT16_MIN;
  uint16_t b = 0, c = UINT16_MAX;
  for (int k = 0; k < 32; k++) {
    if (ss[k] > a) a = ss[k];
    if (us[k] > b) b = us[k];
    if (ns[k] < c) c = ns[k];
  }
  calib_raw_range_keys(a, b, c, low, high);
}

void calib_bf16_key_range(int width, const uint16_t *bits, size_t count, int16_t *low, int16_t *high) {
  if (width == 16) {
    keyRange(bits, count, low, high);
  } else {
    calib_bf16_key_range_avx2(bits, count, low, high);
  }
}

/// ``calib_half_key_runs`` for one format, its conversion inlined as a constant.
AVX512BW static int keyRunsBF16(
  const uint16_t *bits, size_t count, size_t stride, size_t length, float *mins, float *maxs, float *low, float *high
) {
  return anyRuns(bits, count, stride, length, mins, maxs, low, high, 0);
}

AVX512BW static int keyRunsF16(
  const uint16_t *bits, size_t count, size_t stride, size_t length, float *mins, float *maxs, float *low, float *high
) {
  return anyRuns(bits, count, stride, length, mins, maxs, low, high, 1);
}

int calib_half_key_runs(
  int width, const uint16_t *bits, size_t count, size_t stride, size_t length, int float16, float *mins,
  float *maxs, float *low, float *high
) {
  if (width != 16) return calib_half_key_runs_avx2(bits, count, stride, length, float16, mins, maxs, low, high);
  return float16 ? keyRunsF16(bits, count, stride, length, mins, maxs, low, high)
                 : keyRunsBF16(bits, count, stride, length, mins, maxs, low, high);
}

int calib_bf16_group_magnitudes16(
  int width, const uint16_t *bits, size_t count, uint16_t *out, uint16_t *largest, int streams
) {
  return width == 16 ? magnitudeRuns16(bits, count, out, largest, streams)
                     : calib_bf16_group_magnitudes16_avx2(bits, count, out, largest);
}

#else

void calib_bf16_key_range(int width, const uint16_t *bits, size_t count, int16_t *low, int16_t *high) {
  (void)width; (void)bits; (void)count; (void)low; (void)high;
  __builtin_trap();
}

int calib_half_key_runs(
  int width, const uint16_t *bits, size_t count, size_t stride, size_t length, int float16, float *mins,
  float *maxs, float *low, float *high
) {
  (void)width; (void)bits; (void)count; (void)stride; (void)length; (void)float16; (void)mins; (void)maxs;
  (void)low; (void)high;
  __builtin_trap();
}

int calib_bf16_group_magnitudes16(
  int width, const uint16_t *bits, size_t count, uint16_t *out, uint16_t *largest, int streams
) {
  (void)width; (void)bits; (void)count; (void)out; (void)largest; (void)streams;
  __builtin_trap();
}

#endif
