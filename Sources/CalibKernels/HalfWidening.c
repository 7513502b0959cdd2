#include "CalibKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))

/// Sixteen f16 values widened: `vcvtph2ps`, exact, except that it quiets a signaling
/// NaN; NaN lanes are rebuilt from their bits instead (sign, all-ones exponent, the
/// payload shifted up), as the scalar widening keeps them.
AVX512 static inline __m512 widened16(__m256i h) {
  __m512i w = _mm512_cvtepu16_epi32(h);
  __m512i magnitude = _mm512_and_si512(w, _mm512_set1_epi32(0x7FFF));
  __mmask16 nan = _mm512_cmpgt_epu32_mask(magnitude, _mm512_set1_epi32(0x7C00));
  __m512i sign = _mm512_slli_epi32(_mm512_and_si512(w, _mm512_set1_epi32(0x8000)), 16);
  __m512i payload = _mm512_slli_epi32(_mm512_and_si512(w, _mm512_set1_epi32(0x3FF)), 13);
  __m512i rebuilt = _mm512_or_si512(_mm512_or_si512(sign, payload), _mm512_set1_epi32(0x7F800000));
  return _mm512_mask_blend_ps(nan, _mm512_cvtph_ps(h), _mm512_castsi512_ps(rebuilt));
}

AVX512 void calib_f16_widen(const uint16_t *bits, size_t count, float *out) {
  size_t i = 0;
  for (; i + 16 <= count; i += 16) {
    _mm512_storeu_ps(out + i, widened16(_mm256_loadu_si256((const __m256i *)(bits + i))));
  }
  if (i < count) {
    uint16_t tail[16] = {0};
    float wide[16];
    for (size_t k = 0; k < count - i; k++) tail[k] = bits[i + k];
    _mm512_storeu_ps(wide, widened16(_mm256_loadu_si256((const __m256i *)tail)));
    for (size_t k = 0; k < count - i; k++) out[i + k] = wide[k];
  }
}

#else

void calib_f16_widen(const uint16_t *bits, size_t count, float *out) {
  (void)bits; (void)count; (void)out;
  __builtin_trap();
}

#endif
