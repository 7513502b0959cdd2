#include "CalibKernels.h"
#include "Prefetch.h"

#include <string.h>

// NVFP4's group magnitudes (`max |x|` of each contiguous group of 16) on AVX2, eight
// groups per step: the magnitudes' bits are reduced as integers, which is exact in any
// order, so these give the AVX-512 kernels' results and the Swift loop's.

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2")))

/// Eight groups' partial maxima, `r[j]` holding group j's in all its lanes, reduced across
/// lanes at once by `MAX` on `BITS`-bit integers (32 or 16): group j's result lands in
/// 32-bit lane j (in its low bits for 16-bit integers, with the high bits cleared).
#define REDUCE8(NAME, MAX, BITS)                                                          \
  AVX2 static inline __m256i NAME(const __m256i r[8]) {                                   \
    __m256i s[4], t[2];                                                                   \
    for (int j = 0; j < 4; j++) {                                                         \
      /* 128-bit lane 0: group 2j's partials, lane 1: group 2j + 1's. */                  \
      __m256i x = _mm256_permute2x128_si256(r[2 * j], r[2 * j + 1], 0x20);                \
      __m256i y = _mm256_permute2x128_si256(r[2 * j], r[2 * j + 1], 0x31);                \
      s[j] = MAX(x, y);                                                                   \
    }                                                                                     \
    for (int j = 0; j < 2; j++) {                                                         \
      /* Lane L: group 4j + L's halves, then group 4j + 2 + L's. */                       \
      t[j] = MAX(_mm256_unpacklo_epi64(s[2 * j], s[2 * j + 1]),                            \
                 _mm256_unpackhi_epi64(s[2 * j], s[2 * j + 1]));                           \
    }                                                                                     \
    /* 32-bit element e of lane L: group L + 2e. */                                       \
    __m256 a = _mm256_castsi256_ps(t[0]), b = _mm256_castsi256_ps(t[1]);                  \
    __m256i u = MAX(_mm256_castps_si256(_mm256_shuffle_ps(a, b, 0x88)),                   \
                    _mm256_castps_si256(_mm256_shuffle_ps(a, b, 0xDD)));                  \
    if (BITS == 16) u = _mm256_and_si256(MAX(u, _mm256_srli_epi32(u, 16)), _mm256_set1_epi32(0xFFFF)); \
    return _mm256_permutevar8x32_epi32(u, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));     \
  }

REDUCE8(largest32, _mm256_max_epi32, 32)
REDUCE8(largest16, _mm256_max_epu16, 16)

AVX2 static int magnitudes8(const float *x, size_t count, float *out, float *largest) {
  const __m256i magnitude = _mm256_set1_epi32(0x7FFFFFFF);
  __m256i top = _mm256_setzero_si256();
  for (size_t q = 0; q + 8 <= count; q += 8) {
    const float *p = x + q * 16;
    for (int line = 0; line < 8; line++) _mm_prefetch((const char *)p + calib_prefetch_ahead + 64 * line, _MM_HINT_T0);
    __m256i r[8];
    for (int j = 0; j < 8; j++) {
      __m256i a = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(p + 16 * j)), magnitude);
      __m256i b = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(p + 16 * j + 8)), magnitude);
      r[j] = _mm256_max_epi32(a, b);
    }
    __m256i m = largest32(r);
    _mm256_storeu_si256((__m256i *)(out + q), m);
    top = _mm256_max_epi32(top, m);
  }
  __m128i h = _mm_max_epi32(_mm256_castsi256_si128(top), _mm256_extracti128_si256(top, 1));
  h = _mm_max_epi32(h, _mm_shuffle_epi32(h, 0x4E));
  h = _mm_max_epi32(h, _mm_shuffle_epi32(h, 0xB1));
  int bits = _mm_cvtsi128_si32(h);
  memcpy(largest, &bits, sizeof bits);
  return bits < 0x7F800000;
}

AVX2 static int halfMagnitudes8(const uint16_t *bits, size_t count, uint16_t *out, uint16_t *largest) {
  const __m256i magnitude = _mm256_set1_epi16(0x7FFF);
  __m256i top = _mm256_setzero_si256();
  for (size_t q = 0; q + 8 <= count; q += 8) {
    const uint16_t *p = bits + q * 16;
    for (int line = 0; line < 4; line++) _mm_prefetch((const char *)p + calib_prefetch_ahead + 64 * line, _MM_HINT_T0);
    __m256i r[8];
    for (int j = 0; j < 8; j++) r[j] = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(p + 16 * j)), magnitude);
    __m256i m = largest16(r);
    _mm_storeu_si128((__m128i *)(out + q), _mm_packus_epi32(_mm256_castsi256_si128(m), _mm256_extracti128_si256(m, 1)));
    top = _mm256_max_epi32(top, m);
  }
  __m128i h = _mm_max_epi32(_mm256_castsi256_si128(top), _mm256_extracti128_si256(top, 1));
  h = _mm_max_epi32(h, _mm_shuffle_epi32(h, 0x4E));
  h = _mm_max_epi32(h, _mm_shuffle_epi32(h, 0xB1));
  int m = _mm_cvtsi128_si32(h);
  *largest = (uint16_t)m;
  return m < 0x7F80;
}

int calib_group_magnitudes16_avx2(const float *x, size_t count, float *out, float *largest) {
  return magnitudes8(x, count, out, largest);
}

int calib_bf16_group_magnitudes16_avx2(const uint16_t *bits, size_t count, uint16_t *out, uint16_t *largest) {
  return halfMagnitudes8(bits, count, out, largest);
}

#else

int calib_group_magnitudes16_avx2(const float *x, size_t count, float *out, float *largest) {
  (void)x; (void)count; (void)out; (void)largest;
  __builtin_trap();
}

int calib_bf16_group_magnitudes16_avx2(const uint16_t *bits, size_t count, uint16_t *out, uint16_t *largest) {
  (void)bits; (void)count; (void)out; (void)largest;
  __builtin_trap();
}

#endif
