#include "CalibKernels.h"
#include "Prefetch.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2")))

// One `SIMD8<Float>` of CalibCore is one ymm register here, so every operation below is
// one of `RangeReduction.fastRun`'s, lane for lane and in its order. `lower(a, b)` =
// `a < b ? a : b` is vminps(a, b) and `upper(a, b)` = `a > b ? a : b` is vmaxps(a, b): a
// NaN in `a` and equal operands (±0) yield `b`, as the Swift selects do.

/// `RangeReduction.lowest`: halves, then pairs (k, k + 2), then lane 1 against lane 0.
AVX2 static inline float lowest(__m256 v) {
  __m128 h = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  __m128 q = _mm_min_ps(h, _mm_movehl_ps(h, h));
  return _mm_cvtss_f32(_mm_min_ss(_mm_shuffle_ps(q, q, 0x55), q));
}

/// `RangeReduction.highest`, likewise.
AVX2 static inline float highest(__m256 v) {
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  __m128 q = _mm_max_ps(h, _mm_movehl_ps(h, h));
  return _mm_cvtss_f32(_mm_max_ss(_mm_shuffle_ps(q, q, 0x55), q));
}

AVX2 static void run8(const float *p, size_t n, float *low, float *high, float *sum) {
  __m256 lo0 = _mm256_loadu_ps(p), lo1 = _mm256_loadu_ps(p + 8);
  __m256 lo2 = _mm256_loadu_ps(p + 16), lo3 = _mm256_loadu_ps(p + 24);
  __m256 hi0 = lo0, hi1 = lo1, hi2 = lo2, hi3 = lo3;
  // The side sum: s0 += a + c, s1 += b + d per 32 elements, from zero.
  __m256 s0 = _mm256_add_ps(_mm256_setzero_ps(), _mm256_add_ps(lo0, lo2));
  __m256 s1 = _mm256_add_ps(_mm256_setzero_ps(), _mm256_add_ps(lo1, lo3));
  size_t i = 32;
  for (; i + 32 <= n; i += 32) {
    _mm_prefetch((const char *)(p + i) + calib_prefetch_ahead, _MM_HINT_T0);
    _mm_prefetch((const char *)(p + i) + calib_prefetch_ahead + 64, _MM_HINT_T0);
    __m256 a = _mm256_loadu_ps(p + i), b = _mm256_loadu_ps(p + i + 8);
    __m256 c = _mm256_loadu_ps(p + i + 16), d = _mm256_loadu_ps(p + i + 24);
    lo0 = _mm256_min_ps(a, lo0);
    lo1 = _mm256_min_ps(b, lo1);
    lo2 = _mm256_min_ps(c, lo2);
    lo3 = _mm256_min_ps(d, lo3);
    hi0 = _mm256_max_ps(a, hi0);
    hi1 = _mm256_max_ps(b, hi1);
    hi2 = _mm256_max_ps(c, hi2);
    hi3 = _mm256_max_ps(d, hi3);
    s0 = _mm256_add_ps(s0, _mm256_add_ps(a, c));
    s1 = _mm256_add_ps(s1, _mm256_add_ps(b, d));
  }
  for (; i + 8 <= n; i += 8) {
    __m256 a = _mm256_loadu_ps(p + i);
    lo0 = _mm256_min_ps(a, lo0);
    hi0 = _mm256_max_ps(a, hi0);
    s0 = _mm256_add_ps(s0, a);
  }
  if (i < n) {
    // The last eight elements overlap ones already seen; the sum takes a - a.
    __m256 a = _mm256_loadu_ps(p + n - 8);
    lo1 = _mm256_min_ps(a, lo1);
    hi1 = _mm256_max_ps(a, hi1);
    s1 = _mm256_add_ps(s1, _mm256_sub_ps(a, a));
  }
  // `lower4Way` and `upper4Way`: (3 against 2) against (1 against 0).
  *low = lowest(_mm256_min_ps(_mm256_min_ps(lo3, lo2), _mm256_min_ps(lo1, lo0)));
  *high = highest(_mm256_max_ps(_mm256_max_ps(hi3, hi2), _mm256_max_ps(hi1, hi0)));
  _mm256_storeu_ps(sum, _mm256_add_ps(s0, s1));
}

void calib_range_run(const float *p, size_t n, float *low, float *high, float *sum) {
  run8(p, n, low, high, sum);
}

#else

void calib_range_run(const float *p, size_t n, float *low, float *high, float *sum) {
  (void)p; (void)n; (void)low; (void)high; (void)sum;
  __builtin_trap();
}

#endif
