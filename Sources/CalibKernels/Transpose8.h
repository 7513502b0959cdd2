#ifndef CALIB_KERNELS_TRANSPOSE8_H
#define CALIB_KERNELS_TRANSPOSE8_H

// What the AVX2 kernels of several files share: their target, the reduction of eight
// registers' partials across lanes at once, and the last reduction of one register.

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))

/// Eight registers' partial results, `r[j]` holding item j's in all its lanes, reduced
/// across lanes at once by `OP` on `BITS`-bit integers (32 or 16): item j's result lands
/// in 32-bit lane j (in its low 16 bits for 16-bit integers, the high bits cleared).
/// Integer minima and maxima are exact in any order.
#define REDUCE8(NAME, OP, BITS)                                                           \
  AVX2 static inline __m256i NAME(const __m256i r[8]) {                                   \
    __m256i s[4], t[2];                                                                   \
    for (int j = 0; j < 4; j++) {                                                         \
      /* 128-bit lane 0: item 2j's partials, lane 1: item 2j + 1's. */                    \
      __m256i x = _mm256_permute2x128_si256(r[2 * j], r[2 * j + 1], 0x20);                \
      __m256i y = _mm256_permute2x128_si256(r[2 * j], r[2 * j + 1], 0x31);                \
      s[j] = OP(x, y);                                                                    \
    }                                                                                     \
    for (int j = 0; j < 2; j++) {                                                         \
      /* Lane L: item 4j + L's halves, then item 4j + 2 + L's. */                         \
      t[j] = OP(_mm256_unpacklo_epi64(s[2 * j], s[2 * j + 1]),                             \
                _mm256_unpackhi_epi64(s[2 * j], s[2 * j + 1]));                            \
    }                                                                                     \
    /* 32-bit element e of lane L: item L + 2e. */                                        \
    __m256 a = _mm256_castsi256_ps(t[0]), b = _mm256_castsi256_ps(t[1]);                  \
    __m256i u = OP(_mm256_castps_si256(_mm256_shuffle_ps(a, b, 0x88)),                    \
                   _mm256_castps_si256(_mm256_shuffle_ps(a, b, 0xDD)));                   \
    if (BITS == 16) u = _mm256_and_si256(OP(u, _mm256_srli_epi32(u, 16)), _mm256_set1_epi32(0xFFFF)); \
    return _mm256_permutevar8x32_epi32(u, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));     \
  }

/// The largest of eight signed 32-bit lanes.
AVX2 static inline int largestLane32(__m256i v) {
  __m128i h = _mm_max_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  h = _mm_max_epi32(h, _mm_shuffle_epi32(h, 0x4E));
  h = _mm_max_epi32(h, _mm_shuffle_epi32(h, 0xB1));
  return _mm_cvtsi128_si32(h);
}

#endif

#endif
