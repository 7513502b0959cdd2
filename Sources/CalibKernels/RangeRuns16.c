#include "Kernels8.h"
#include "LineStream.h"
#include "Prefetch.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

// `lower(a, b)` = `a < b ? a : b` is vminps(a, b), and `upper(a, b)` = `a > b ? a : b` is
// vmaxps(a, b): for equal operands (±0) both return the second, as the Swift selects do.

/// Sixteen runs' minima (or maxima, `MAX` nonzero) from their first-level results: `r[j]`
/// holds runs 2j (lanes 0-7) and 2j + 1 (lanes 8-15), each lane k the pair (k, k + 8)
/// reduced. Then, as `RangeReduction.lowest`: pairs (k, k + 4), pairs (k, k + 2), and
/// finally `lane 1 < lane 0 ? lane 1 : lane 0`. Returns run g's result in lane g.
#define REDUCE(NAME, OP)                                                                    \
  __attribute__((target("avx512f"))) static __m512 NAME(const __m512 r[8]) {                \
    __m512 s[4], t[2];                                                                      \
    for (int j = 0; j < 4; j++) {                                                           \
      /* 128-bit lanes: [2j.lo4, 2j+1.lo4 | ...] from r[2j], r[2j+1]: runs 4j .. 4j+3. */    \
      __m512 x = _mm512_shuffle_f32x4(r[2 * j], r[2 * j + 1], 0x88); /* lanes 0,2 | 0,2 */  \
      __m512 y = _mm512_shuffle_f32x4(r[2 * j], r[2 * j + 1], 0xDD); /* lanes 1,3 | 1,3 */  \
      s[j] = OP(x, y);                                                                      \
    }                                                                                       \
    for (int j = 0; j < 2; j++) {                                                           \
      /* In each 128-bit lane L: run 8j + L's pair (0, 2), (1, 3), then 8j + 4 + L's. */     \
      __m512 x = _mm512_shuffle_ps(s[2 * j], s[2 * j + 1], 0x44); /* 0,1 | 0,1 */          \
      __m512 y = _mm512_shuffle_ps(s[2 * j], s[2 * j + 1], 0xEE); /* 2,3 | 2,3 */          \
      t[j] = OP(x, y);                                                                      \
    }                                                                                       \
    /* Lane 1 against lane 0, lane 1 first; element e of 128-bit lane L is run L + 4e. */  \
    __m512 x = _mm512_shuffle_ps(t[0], t[1], 0xDD); /* 1,3 | 1,3 */                         \
    __m512 y = _mm512_shuffle_ps(t[0], t[1], 0x88); /* 0,2 | 0,2 */                         \
    __m512 u = OP(x, y);                                                                    \
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15); \
    return _mm512_permutexvar_ps(order, u);                                                 \
  }

REDUCE(lowest16, _mm512_min_ps)
REDUCE(highest16, _mm512_max_ps)

__attribute__((target("avx512f"))) static void runs16(
  const float *x, size_t count, size_t stride, float *mins, float *maxs, float *sum, float *low, float *high
) {
  __m256 total = _mm256_loadu_ps(sum);
  __m512 lowest = _mm512_set1_ps(__builtin_inff()), highest = _mm512_set1_ps(-__builtin_inff());
  for (size_t q = 0; q + 16 <= count; q += 16) {
    // Prefetching ahead of a contiguous weight beats the hardware prefetcher alone.
    if (stride == 16) {
      for (int line = 0; line < 16; line++) _mm_prefetch((const char *)(x + q * 16) + calib_prefetch_ahead + 64 * line, _MM_HINT_T0);
    }
    __m512 lo[8], hi[8];
    for (int j = 0; j < 8; j++) {
      __m512 a = _mm512_loadu_ps(x + (q + 2 * j) * stride);
      __m512 b = _mm512_loadu_ps(x + (q + 2 * j + 1) * stride);
      // First level: lanes k and k + 8 of each run, run 2j in the low half.
      __m512 first = _mm512_shuffle_f32x4(a, b, 0x44);  /* a.lo8 | b.lo8 */
      __m512 second = _mm512_shuffle_f32x4(a, b, 0xEE); /* a.hi8 | b.hi8 */
      lo[j] = _mm512_min_ps(first, second);
      hi[j] = _mm512_max_ps(first, second);
      // The finiteness witness, run by run in order: sum += a.lo8 + a.hi8.
      total = _mm256_add_ps(total, _mm256_add_ps(_mm512_castps512_ps256(a),
        _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1))));
      total = _mm256_add_ps(total, _mm256_add_ps(_mm512_castps512_ps256(b),
        _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(b), 1))));
    }
    __m512 l = lowest16(lo), h = highest16(hi);
    _mm512_storeu_ps(mins + q, l);
    _mm512_storeu_ps(maxs + q, h);
    lowest = _mm512_min_ps(lowest, l);
    highest = _mm512_max_ps(highest, h);
  }
  _mm256_storeu_ps(sum, total);
  *low = _mm512_reduce_min_ps(lowest);
  *high = _mm512_reduce_max_ps(highest);
}

/// The larger of two non-negative floats (or NaNs) by their bits, which order as the values
/// do, a NaN's above ∞'s: unlike vmaxps, a NaN is never dropped.
__attribute__((target("avx512f"))) static inline __m512 largerBits(__m512 a, __m512 b) {
  return _mm512_castsi512_ps(_mm512_max_epi32(_mm512_castps_si512(a), _mm512_castps_si512(b)));
}

REDUCE(largest16, largerBits)

/// NVFP4's contiguous groups of 16: each group's largest magnitude, `max |x|`, reduced on
/// the magnitudes' bits (exact in any order).
///
/// The input is left to the hardware prefetcher, and with `streams` the magnitudes (a
/// sixteenth of the input) go past the cache instead of being read for ownership and
/// kept. On a Zen 4 EPYC the other range kernels' software prefetch held this one at
/// 0.64-0.69 of a plain read of its input; without it and streamed, it runs at 0.73-0.84
/// (bench weight, two threads).
__attribute__((target("avx512f"))) static int magnitudes16(const float *x, size_t count, float *out, float *largest, int streams) {
  const __m512i magnitude = _mm512_set1_epi32(0x7FFFFFFF);
  __m512i top = _mm512_setzero_si512();
  calib_line_stream stream = calib_line_stream_start(out);
  for (size_t q = 0; q + 16 <= count; q += 16) {
    __m512 r[8];
    for (int j = 0; j < 8; j++) {
      __m512 a = _mm512_castsi512_ps(_mm512_and_si512(_mm512_loadu_si512(x + (q + 2 * j) * 16), magnitude));
      __m512 b = _mm512_castsi512_ps(_mm512_and_si512(_mm512_loadu_si512(x + (q + 2 * j + 1) * 16), magnitude));
      r[j] = largerBits(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xEE));
    }
    __m512 m = largest16(r);
    if (streams) {
      calib_line_stream_put(&stream, q / 16, m);
    } else {
      _mm512_storeu_ps(out + q, m);
    }
    top = _mm512_max_epi32(top, _mm512_castps_si512(m));
  }
  if (streams) calib_line_stream_finish(&stream, count / 16);
  int h = _mm512_reduce_max_epi32(top);
  memcpy(largest, &h, sizeof h);
  return h < 0x7F800000;
}

int calib_group_magnitudes16(int width, const float *x, size_t count, float *out, float *largest, int streams) {
  return width == 16 ? magnitudes16(x, count, out, largest, streams)
                     : calib_group_magnitudes16_avx2(x, count, out, largest);
}

void calib_range_runs16(
  const float *x, size_t count, size_t stride, float *mins, float *maxs, float *sum, float *low, float *high
) {
  runs16(x, count, stride, mins, maxs, sum, low, high);
}

#else

void calib_range_runs16(
  const float *x, size_t count, size_t stride, float *mins, float *maxs, float *sum, float *low, float *high
) {
  (void)x; (void)count; (void)stride; (void)mins; (void)maxs; (void)sum; (void)low; (void)high;
  __builtin_trap();
}

int calib_group_magnitudes16(int width, const float *x, size_t count, float *out, float *largest, int streams) {
  (void)width; (void)x; (void)count; (void)out; (void)largest; (void)streams;
  __builtin_trap();
}

#endif
