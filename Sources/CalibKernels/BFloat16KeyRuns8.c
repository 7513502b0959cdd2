#include "Kernels8.h"
#include "Prefetch.h"
#include "Transpose8.h"

// bf16 and f16 ranges in their keys' order (CalibCore's `BFloat16Order`) on AVX2: the work
// of BFloat16KeyRuns.c, eight runs per step instead of sixteen, from the same three
// reductions of the raw bits (see there). Integer minima and maxima are exact in any
// order, so both give the portable key loops' results.

#if defined(__x86_64__)

AVX2 static inline __m256i load16(const uint16_t *p) { return _mm256_loadu_si256((const __m256i *)p); }

/// One run's `length` values (a multiple of 16) folded into 16 partial reductions of the
/// first two kinds (the largest signed and the largest unsigned), prefetching ahead at
/// every 64-byte step after the first (whose prefetch is the caller's).
AVX2 static inline void fold8(const uint16_t *p, size_t length, __m256i *s, __m256i *u) {
  __m256i a = load16(p), b = a;
  for (size_t i = 16; i < length; i += 16) {
    if ((i & 31) == 0) _mm_prefetch((const char *)(p + i) + calib_prefetch_ahead, _MM_HINT_T0);
    __m256i x = load16(p + i);
    a = _mm256_max_epi16(a, x);
    b = _mm256_max_epu16(b, x);
  }
  *s = a;
  *u = b;
}

REDUCE8(highestSigned8, _mm256_max_epi16, 16)
REDUCE8(highestUnsigned8, _mm256_max_epu16, 16)
REDUCE8(lowestUnsigned8, _mm256_min_epu16, 16)

/// The third kind (the smallest unsigned) of eight runs, reduced: needed only where some
/// run's values all share a sign, so it reads the runs again.
AVX2 __attribute__((noinline)) static __m256i lowestUnsigned8Runs(const uint16_t *p, size_t stride, size_t length) {
  __m256i mn[8];
  for (int k = 0; k < 8; k++) {
    const uint16_t *r = p + k * stride;
    __m256i c = load16(r);
    for (size_t i = 16; i < length; i += 16) c = _mm256_min_epu16(c, load16(r + i));
    mn[k] = c;
  }
  return lowestUnsigned8(mn);
}

/// A range's lowest value's bits from its reductions (16-bit values in 32-bit lanes): the
/// largest unsigned if some value is negative, else the smallest unsigned.
AVX2 static inline __m256i rawLow8(__m256i u, __m256i n) {
  return _mm256_blendv_epi8(n, u, _mm256_cmpgt_epi32(u, _mm256_set1_epi32(0x7FFF)));
}

/// Its highest value's bits: the largest signed if some value is not negative, else the
/// smallest unsigned.
AVX2 static inline __m256i rawHigh8(__m256i s, __m256i n) {
  return _mm256_blendv_epi8(n, s, _mm256_cmpgt_epi32(_mm256_set1_epi32(0x8000), n));
}

/// The float32 values of eight values' bits held in the low halves of 32-bit lanes (high
/// halves clear): bf16 bits shifted into place, or (`float16`) f16 bits converted, exactly.
AVX2 static inline __m256 values8(__m256i bits, const int float16) {
  if (float16) return _mm256_cvtph_ps(_mm_packus_epi32(_mm256_castsi256_si128(bits), _mm256_extracti128_si256(bits, 1)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(bits, 16));
}

/// Lanes holding a NaN, or ±0, whose sign the float reduction takes from its own order.
AVX2 static inline int unclean8(__m256 v) { return _mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_EQ_UQ)); }

AVX2 __attribute__((always_inline)) static inline int keyRuns8(
  const uint16_t *bits, size_t count, size_t stride, size_t length, float *mins, float *maxs, float *low, float *high,
  const int float16
) {
  int bad = 0;
  __m256 lowest = _mm256_set1_ps(__builtin_inff()), highest = _mm256_set1_ps(-__builtin_inff());
  for (size_t q = 0; q + 8 <= count; q += 8) {
    __m256i ms[8], mu[8];
    for (int k = 0; k < 8; k++) {
      const uint16_t *p = bits + (q + k) * stride;
      _mm_prefetch((const char *)p + calib_prefetch_ahead, _MM_HINT_T0);
      fold8(p, length, &ms[k], &mu[k]);
    }
    __m256i s = highestSigned8(ms), u = highestUnsigned8(mu), lowBits = u, highBits = s;
    // Both signs in every run (see BFloat16KeyRuns.c): `u` has the sign bit, `s` not.
    __m256i mixed = _mm256_and_si256(
      _mm256_cmpgt_epi32(u, _mm256_set1_epi32(0x7FFF)), _mm256_cmpgt_epi32(_mm256_set1_epi32(0x8000), s));
    if (_mm256_movemask_ps(_mm256_castsi256_ps(mixed)) != 0xFF) {
      __m256i n = lowestUnsigned8Runs(bits + q * stride, stride, length);
      lowBits = rawLow8(u, n);
      highBits = rawHigh8(s, n);
    }
    __m256 l = values8(lowBits, float16), h = values8(highBits, float16);
    _mm256_storeu_ps(mins + q, l);
    _mm256_storeu_ps(maxs + q, h);
    lowest = _mm256_min_ps(lowest, l);
    highest = _mm256_max_ps(highest, h);
    bad |= unclean8(l) | unclean8(h);
  }
  // Meaningful only when every run was clean (no NaN, no zero end): then float minima and
  // maxima are exact in any order.
  __m128 a = _mm_min_ps(_mm256_castps256_ps128(lowest), _mm256_extractf128_ps(lowest, 1));
  a = _mm_min_ps(a, _mm_movehl_ps(a, a));
  *low = _mm_cvtss_f32(_mm_min_ss(a, _mm_movehdup_ps(a)));
  __m128 b = _mm_max_ps(_mm256_castps256_ps128(highest), _mm256_extractf128_ps(highest, 1));
  b = _mm_max_ps(b, _mm_movehl_ps(b, b));
  *high = _mm_cvtss_f32(_mm_max_ss(b, _mm_movehdup_ps(b)));
  return bad == 0;
}

AVX2 static int keyRunsBF16(
  const uint16_t *bits, size_t count, size_t stride, size_t length, float *mins, float *maxs, float *low, float *high
) {
  return keyRuns8(bits, count, stride, length, mins, maxs, low, high, 0);
}

AVX2 static int keyRunsF16(
  const uint16_t *bits, size_t count, size_t stride, size_t length, float *mins, float *maxs, float *low, float *high
) {
  return keyRuns8(bits, count, stride, length, mins, maxs, low, high, 1);
}

int calib_half_key_runs_avx2(
  const uint16_t *bits, size_t count, size_t stride, size_t length, int float16, float *mins, float *maxs,
  float *low, float *high
) {
  return float16 ? keyRunsF16(bits, count, stride, length, mins, maxs, low, high)
                 : keyRunsBF16(bits, count, stride, length, mins, maxs, low, high);
}

/// The smallest and largest key of `count` values, from the three reductions of their raw
/// bits: 64 per step in two sets of accumulators, then 16 at a time, then one at a time.
/// No values: `INT16_MAX` and `INT16_MIN`.
AVX2 void calib_bf16_key_range_avx2(const uint16_t *bits, size_t count, int16_t *low, int16_t *high) {
  if (count == 0) {
    *low = INT16_MAX;
    *high = INT16_MIN;
    return;
  }
  __m256i ms[2] = {_mm256_set1_epi16(INT16_MIN), _mm256_set1_epi16(INT16_MIN)};
  __m256i mu[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
  __m256i mn[2] = {_mm256_set1_epi16(-1), _mm256_set1_epi16(-1)};
  size_t i = 0;
  for (; i + 64 <= count; i += 64) {
    _mm_prefetch((const char *)(bits + i) + calib_prefetch_ahead, _MM_HINT_T0);
    _mm_prefetch((const char *)(bits + i) + calib_prefetch_ahead + 64, _MM_HINT_T0);
    for (int k = 0; k < 4; k++) {
      __m256i x = load16(bits + i + 16 * k);
      ms[k & 1] = _mm256_max_epi16(ms[k & 1], x);
      mu[k & 1] = _mm256_max_epu16(mu[k & 1], x);
      mn[k & 1] = _mm256_min_epu16(mn[k & 1], x);
    }
  }
  for (; i + 16 <= count; i += 16) {
    __m256i x = load16(bits + i);
    ms[0] = _mm256_max_epi16(ms[0], x);
    mu[0] = _mm256_max_epu16(mu[0], x);
    mn[0] = _mm256_min_epu16(mn[0], x);
  }
  int16_t ss[16];
  uint16_t us[16], ns[16];
  _mm256_storeu_si256((__m256i *)ss, _mm256_max_epi16(ms[0], ms[1]));
  _mm256_storeu_si256((__m256i *)us, _mm256_max_epu16(mu[0], mu[1]));
  _mm256_storeu_si256((__m256i *)ns, _mm256_min_epu16(mn[0], mn[1]));
  int16_t a = INT16_MIN;
  uint16_t b = 0, c = UINT16_MAX;
  for (int k = 0; k < 16; k++) {
    if (ss[k] > a) a = ss[k];
    if (us[k] > b) b = us[k];
    if (ns[k] < c) c = ns[k];
  }
  for (; i < count; i++) {
    uint16_t v = bits[i];
    if ((int16_t)v > a) a = (int16_t)v;
    if (v > b) b = v;
    if (v < c) c = v;
  }
  calib_raw_range_keys(a, b, c, low, high);
}

#endif
