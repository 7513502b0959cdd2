#include "Kernels8.h"
#include "Prefetch.h"
#include "Transpose8.h"

#include <string.h>

// NVFP4's group magnitudes (`max |x|` of each contiguous group of 16) on AVX2, eight
// groups per step: the magnitudes' bits are reduced as integers, which is exact in any
// order, so these give the AVX-512 kernels' results and the Swift loop's.

#if defined(__x86_64__)

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
  int bits = largestLane32(top);
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
  int m = largestLane32(top);
  *largest = (uint16_t)m;
  return m < 0x7F80;
}

int calib_group_magnitudes16_avx2(const float *x, size_t count, float *out, float *largest) {
  return magnitudes8(x, count, out, largest);
}

int calib_bf16_group_magnitudes16_avx2(const uint16_t *bits, size_t count, uint16_t *out, uint16_t *largest) {
  return halfMagnitudes8(bits, count, out, largest);
}

#endif
