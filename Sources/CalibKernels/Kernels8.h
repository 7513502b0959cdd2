#ifndef CALIB_KERNELS_KERNELS8_H
#define CALIB_KERNELS_KERNELS8_H

#include "CalibKernels.h"

// The AVX2 kernels behind the width-taking entry points of CalibKernels.h: each does what
// its entry point documents, for `width` 8 (counts a multiple of 8). x86-64 only; the
// entry points choose them.

/// The smallest and largest key of values whose raw bits reduce to `s` (the largest as
/// signed 16-bit integers), `u` (the largest unsigned) and `n` (the smallest unsigned):
/// the lowest value is `u` if some value is negative, else `n`; the highest is `s` if
/// some value is not negative, else `n` (see BFloat16KeyRuns.c). A key is
/// `bits ^ ((bits >> 15) & 0x7FFF)` with an arithmetic shift. Shared by both widths'
/// `calib_bf16_key_range`.
static inline void calib_raw_range_keys(int16_t s, uint16_t u, uint16_t n, int16_t *low, int16_t *high) {
  uint16_t lowBits = u >= 0x8000 ? u : n, highBits = n < 0x8000 ? (uint16_t)s : n;
  *low = (int16_t)(lowBits ^ ((lowBits >> 15) * 0x7FFF));
  *high = (int16_t)(highBits ^ ((highBits >> 15) * 0x7FFF));
}

int calib_group_magnitudes16_avx2(const float *x, size_t count, float *out, float *largest);

int calib_bf16_group_magnitudes16_avx2(const uint16_t *bits, size_t count, uint16_t *out, uint16_t *largest);

int calib_half_key_runs_avx2(
  const uint16_t *bits, size_t count, size_t stride, size_t length, int float16, float *mins, float *maxs,
  float *low, float *high);

void calib_bf16_key_range_avx2(const uint16_t *bits, size_t count, int16_t *low, int16_t *high);

#endif
