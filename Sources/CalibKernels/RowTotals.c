#include "CalibKernels.h"

// Each addition is torch's, rounded on its own.
#pragma STDC FP_CONTRACT OFF

#if defined(__x86_64__)
#include <immintrin.h>
#include "TorchRowEnd.h"

/// One step's total (see `calib_float32_rows_totals`).
__attribute__((target("avx2"), always_inline)) static inline float rowsTotal(const float *terms, size_t rows) {
  __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
  for (size_t r = 0; r < rows; r++) {
    const float *row = terms + 32 * r;
    c0 = _mm256_add_ps(c0, _mm256_loadu_ps(row));
    c1 = _mm256_add_ps(c1, _mm256_loadu_ps(row + 8));
    c2 = _mm256_add_ps(c2, _mm256_loadu_ps(row + 16));
    c3 = _mm256_add_ps(c3, _mm256_loadu_ps(row + 24));
  }
  return calib_torch_row_end(c0, c1, c2, c3);
}

__attribute__((target("avx2"))) void calib_float32_rows_totals(
  const float *terms, size_t rows, size_t steps, float *totals
) {
  for (size_t i = 0; i < steps; i++) totals[i] = rowsTotal(terms + i * 32 * rows, rows);
}

#else

void calib_float32_rows_totals(const float *terms, size_t rows, size_t steps, float *totals) {
  (void)terms; (void)rows; (void)steps; (void)totals;
  __builtin_trap();
}

#endif
