#include "CalibKernels.h"
#include "Prefetch.h"

#pragma STDC FP_CONTRACT OFF

#if defined(__x86_64__)
#include <immintrin.h>
#include "TorchRowEnd.h"

/// The terms of sixteen keys as float32 lanes: the keys read four to a 64-bit load and
/// split with shifts, each entry read with a scalar load into a 16-lane buffer of 32-bit
/// slots, then shifted up to float32 bits.
///
/// The scalar loads beat one `vpgatherdd`: 3.3 against 4.9 ns per sixteen keys from a
/// 1 KiB table on Zen 5 in a C harness, and on Zen 4 0.25 against 0.39 ns per key from a
/// 4 KiB one. Reading the keys four at a time, rather than with a load each, and the
/// entries into 32-bit slots, rather than 16-bit ones packed by `vpinsrw`, takes 0.25
/// ns per key on Zen 4 where those took 0.33. (Visiting parameters bucket by bucket, so
/// that one table stays in L1, was slower still on Zen 5, 112 against 79–83 ms for
/// `w_mse_int4_group128_bf16`: the keys are then read out of order.)
__attribute__((target("avx512f"), always_inline)) static inline __m512 terms16(
  const uint16_t *entry, const uint16_t *keys
) {
  uint32_t slots[16] __attribute__((aligned(64)));
  for (int j = 0; j < 4; j++) {
    uint64_t four;
    __builtin_memcpy(&four, keys + 4 * j, sizeof four);
    slots[4 * j] = entry[four & 0xFFFF];
    slots[4 * j + 1] = entry[(four >> 16) & 0xFFFF];
    slots[4 * j + 2] = entry[(four >> 32) & 0xFFFF];
    slots[4 * j + 3] = entry[four >> 48];
  }
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_load_si512(slots), 16));
}

/// Lane l: the terms of lanes l and l + 8 of sixteen, added (torch's two 8-lane halves).
__attribute__((target("avx512f"), always_inline)) static inline __m256 pairSums(__m512 terms) {
  return _mm256_add_ps(_mm512_castps512_ps256(terms), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(terms), 1)));
}

/// `calib_bf16_table_row_sum` on AVX-512: torch's additions (see the header) on vectors,
/// accumulator k in its own register.
__attribute__((target("avx512f"))) static float rowSum16(
  const uint16_t *table, long first, const uint16_t *keys, size_t rows
) {
  __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
  const uint16_t *entry = table - first;
  for (size_t r = 0; r < rows; r++) {
    const uint16_t *row = keys + 64 * r;
    _mm_prefetch((const char *)row + calib_prefetch_ahead, _MM_HINT_T0);
    _mm_prefetch((const char *)row + calib_prefetch_ahead + 64, _MM_HINT_T0);
    c0 = _mm256_add_ps(c0, pairSums(terms16(entry, row)));
    c1 = _mm256_add_ps(c1, pairSums(terms16(entry, row + 16)));
    c2 = _mm256_add_ps(c2, pairSums(terms16(entry, row + 32)));
    c3 = _mm256_add_ps(c3, pairSums(terms16(entry, row + 48)));
  }
  return calib_torch_row_end(c0, c1, c2, c3);
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
