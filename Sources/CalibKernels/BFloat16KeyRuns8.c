#include "Kernels8.h"
#include "Prefetch.h"
#include "Transpose8.h"

// bf16 and f16 ranges from their keys (CalibCore's `BFloat16Order`) on AVX2: the work of
// BFloat16KeyRuns.c, eight runs per step instead of sixteen. Integer minima and maxima are
// exact in any order, so both give the portable key loops' results.

#if defined(__x86_64__)

/// A value's key, `bits ^ ((bits >> 15) & 0x7FFF)` with an arithmetic shift, in each 16-bit
/// lane; the map is its own inverse.
AVX2 static inline __m256i keys8(__m256i bits) {
  return _mm256_xor_si256(bits, _mm256_and_si256(_mm256_srai_epi16(bits, 15), _mm256_set1_epi16(0x7FFF)));
}

AVX2 static inline __m256i load16(const uint16_t *p) { return _mm256_loadu_si256((const __m256i *)p); }

/// One run's `length` keys (a multiple of 16) folded into 16 partial minima and maxima,
/// prefetching ahead at every 64-byte step after the first (whose prefetch is the caller's).
AVX2 static inline void fold8(const uint16_t *p, size_t length, __m256i *low, __m256i *high) {
  __m256i lo = keys8(load16(p)), hi = lo;
  for (size_t i = 16; i < length; i += 16) {
    if ((i & 31) == 0) _mm_prefetch((const char *)(p + i) + calib_prefetch_ahead, _MM_HINT_T0);
    __m256i k = keys8(load16(p + i));
    lo = _mm256_min_epi16(lo, k);
    hi = _mm256_max_epi16(hi, k);
  }
  *low = lo;
  *high = hi;
}

REDUCE8(lowestKeys8, _mm256_min_epi16, 16)
REDUCE8(highestKeys8, _mm256_max_epi16, 16)

/// The float32 values of eight keys held in the low halves of 32-bit lanes (high halves
/// clear): bf16 bits shifted into place, or (`float16`) f16 bits converted, exactly.
AVX2 static inline __m256 values8(__m256i k, const int float16) {
  __m256i bits = keys8(k);
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
    __m256i lo[8], hi[8];
    for (int k = 0; k < 8; k++) {
      const uint16_t *p = bits + (q + k) * stride;
      _mm_prefetch((const char *)p + calib_prefetch_ahead, _MM_HINT_T0);
      fold8(p, length, &lo[k], &hi[k]);
    }
    __m256 l = values8(lowestKeys8(lo), float16), h = values8(highestKeys8(hi), float16);
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

/// The smallest and largest key of `count` values: 64 per step in two pairs of
/// accumulators, then 16 at a time, then one at a time.
AVX2 void calib_bf16_key_range_avx2(const uint16_t *bits, size_t count, int16_t *low, int16_t *high) {
  __m256i lo[2] = {_mm256_set1_epi16(INT16_MAX), _mm256_set1_epi16(INT16_MAX)};
  __m256i hi[2] = {_mm256_set1_epi16(INT16_MIN), _mm256_set1_epi16(INT16_MIN)};
  size_t i = 0;
  for (; i + 64 <= count; i += 64) {
    _mm_prefetch((const char *)(bits + i) + calib_prefetch_ahead, _MM_HINT_T0);
    _mm_prefetch((const char *)(bits + i) + calib_prefetch_ahead + 64, _MM_HINT_T0);
    for (int k = 0; k < 4; k++) {
      __m256i key = keys8(load16(bits + i + 16 * k));
      lo[k & 1] = _mm256_min_epi16(lo[k & 1], key);
      hi[k & 1] = _mm256_max_epi16(hi[k & 1], key);
    }
  }
  for (; i + 16 <= count; i += 16) {
    __m256i key = keys8(load16(bits + i));
    lo[0] = _mm256_min_epi16(lo[0], key);
    hi[0] = _mm256_max_epi16(hi[0], key);
  }
  int16_t ls[16], hs[16];
  _mm256_storeu_si256((__m256i *)ls, _mm256_min_epi16(lo[0], lo[1]));
  _mm256_storeu_si256((__m256i *)hs, _mm256_max_epi16(hi[0], hi[1]));
  int16_t a = INT16_MAX, b = INT16_MIN;
  for (int k = 0; k < 16; k++) {
    if (ls[k] < a) a = ls[k];
    if (hs[k] > b) b = hs[k];
  }
  for (; i < count; i++) {
    int16_t v = (int16_t)bits[i];
    int16_t key = (int16_t)(v ^ ((v >> 15) & 0x7FFF));
    if (key < a) a = key;
    if (key > b) b = key;
  }
  *low = a;
  *high = b;
}

#endif
