#ifndef CALIB_KERNELS_KERNELS8_H
#define CALIB_KERNELS_KERNELS8_H

#include "CalibKernels.h"

// The AVX2 kernels behind the width-taking entry points of CalibKernels.h: each does what
// its entry point documents, for `width` 8 (counts a multiple of 8). x86-64 only; the
// entry points choose them.

int calib_group_magnitudes16_avx2(const float *x, size_t count, float *out, float *largest);

int calib_bf16_group_magnitudes16_avx2(const uint16_t *bits, size_t count, uint16_t *out, uint16_t *largest);

int calib_half_key_runs_avx2(
  const uint16_t *bits, size_t count, size_t stride, size_t length, int float16, float *mins, float *maxs,
  float *low, float *high);

void calib_bf16_key_range_avx2(const uint16_t *bits, size_t count, int16_t *low, int16_t *high);

#endif
