#include "CalibKernels.h"
#include "Prefetch.h"

#pragma STDC FP_CONTRACT OFF

#if defined(__x86_64__)
#include <immintrin.h>

/// Sixteen keys' terms: dword gathers at `table + (key - first)` (two bytes each), whose
/// low halves are the entries, moved up to be float32 bits.
__attribute__((target("avx512f"))) static float rowSum16(
  const uint16_t *table, long first, const uint16_t *keys, size_t rows
) {
  __m256 c[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  __m512i base = _mm512_set1_epi32((int)first);
  for (size_t r = 0; r < rows; r++) {
    _mm_prefetch((const char *)(keys + 64 * r) + calib_prefetch_ahead, _MM_HINT_T0);
    _mm_prefetch((const char *)(keys + 64 * r) + calib_prefetch_ahead + 64, _MM_HINT_T0);
    for (int k = 0; k < 4; k++) {
      __m256i raw = _mm256_loadu_si256((const __m256i *)(keys + 64 * r + 16 * k));
      __m512i index = _mm512_sub_epi32(_mm512_cvtepu16_epi32(raw), base);
      __m512i entries = _mm512_i32gather_epi32(index, (const void *)table, 2);
      __m512 terms = _mm512_castsi512_ps(_mm512_slli_epi32(entries, 16));
      // Lane l: the terms of keys l and l + 8 of the load, added.
      __m256 pair = _mm256_add_ps(_mm512_castps512_ps256(terms),
        _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(terms), 1)));
      c[k] = _mm256_add_ps(c[k], pair);
    }
  }
  __m256 lanes = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(c[0], c[1]), c[2]), c[3]);
  float out[8];
  _mm256_storeu_ps(out, lanes);
  float total = 0;
  for (int l = 0; l < 8; l++) total += out[l];
  return total;
}

float calib_bf16_table_row_sum(const uint16_t *table, long first, const uint16_t *keys, size_t rows) {
  return rowSum16(table, first, keys, rows);
}

#else

float calib_bf16_table_row_sum(const uint16_t *table, long first, const uint16_t *keys, size_t rows) {
  (void)table; (void)first; (void)keys; (void)rows;
  __builtin_trap();
}

#endif
