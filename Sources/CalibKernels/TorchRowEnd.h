#ifndef CALIB_KERNELS_TORCH_ROW_END_H
#define CALIB_KERNELS_TORCH_ROW_END_H

#if defined(__x86_64__)
#include <immintrin.h>

/// The end of torch's float32 sum of whole rows (`cascade_sum` on 8-lane vectors, no
/// cascade): its four column accumulators added in order, then the result's eight lanes
/// in order from zero. Shared by the float32 row totals and the bf16 table row sums; the
/// includer keeps `#pragma STDC FP_CONTRACT OFF`.
__attribute__((target("avx2"), always_inline)) static inline float calib_torch_row_end(
  __m256 c0, __m256 c1, __m256 c2, __m256 c3
) {
  __m256 lanes = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(c0, c1), c2), c3);
  float out[8];
  _mm256_storeu_ps(out, lanes);
  float total = 0;
  for (int l = 0; l < 8; l++) total += out[l];
  return total;
}

#endif

#endif
