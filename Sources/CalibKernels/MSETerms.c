#include "CalibKernels.h"

// Every multiply and add stays a separate, rounded IEEE operation, as in the Swift lanes
// these kernels mirror; fused multiply-adds are written out where those lanes call
// `addingProduct` (FastPower's polynomials) and where SLEEF fuses in torch's power.
#pragma STDC FP_CONTRACT OFF

#if defined(__x86_64__)

#include "VectorTypes.h"
#include <immintrin.h>

#define VF f32x16
#define VU u32x16
#define VI i32x16
#define W 16
#define TARGET "avx512f"
#define TARGET_ATTRIBUTE __attribute__((target(TARGET)))
#define NAME(x) x##16
#include "TorchPowBody.h"
#include "MSETermsBody.h"
#undef VF
#undef VU
#undef VI
#undef W
#undef TARGET
#undef TARGET_ATTRIBUTE
#undef NAME

#define VF f32x8
#define VU u32x8
#define VI i32x8
#define W 8
#define TARGET "avx2,fma"
#define TARGET_ATTRIBUTE __attribute__((target(TARGET)))
#define NAME(x) x##8
#include "TorchPowBody.h"
#include "MSETermsBody.h"
#undef VF
#undef VU
#undef VI
#undef W
#undef TARGET
#undef TARGET_ATTRIBUTE
#undef NAME

int calib_kernels_width(void) {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")) return 16;
  // F16C comes with every AVX2 CPU; the AVX2 kernels convert f16 with it.
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) return 8;
  return 0;
}

void calib_mse_terms(
  int width, const float *x, size_t count, size_t steps, const float *scales, const float *zeros,
  const calib_mse_terms_params *params, float *terms
) {
  if (width == 16) {
    mseTerms16(x, count, steps, scales, zeros, params, terms);
  } else {
    mseTerms8(x, count, steps, scales, zeros, params, terms);
  }
}

#else

int calib_kernels_width(void) { return 0; }

void calib_mse_terms(
  int width, const float *x, size_t count, size_t steps, const float *scales, const float *zeros,
  const calib_mse_terms_params *params, float *terms
) {
  (void)width; (void)x; (void)count; (void)steps; (void)scales; (void)zeros; (void)params; (void)terms;
  __builtin_trap();
}

#endif
