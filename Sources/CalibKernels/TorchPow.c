#include "CalibKernels.h"

// SLEEF's operations, each rounded where it rounds and fused where it fuses.
#pragma STDC FP_CONTRACT OFF

typedef float f32x1 __attribute__((vector_size(4)));
typedef int i32x1 __attribute__((vector_size(4)));

#define VF f32x1
#define VI i32x1
#define W 1
#define TARGET_ATTRIBUTE
#define NAME(x) x##1
#include "TorchPowBody.h"
#undef VF
#undef VI
#undef W
#undef TARGET_ATTRIBUTE
#undef NAME

float calib_torch_powf(float x, float y) {
  f32x1 vx = {x}, vy = {y};
  return torchPow1(vx, vy)[0];
}

#if defined(__x86_64__)

#include "VectorTypes.h"

#define VF f32x16
#define VI i32x16
#define W 16
#define TARGET_ATTRIBUTE __attribute__((target("avx512f")))
#define NAME(x) x##16
#include "TorchPowBody.h"
#undef VF
#undef VI
#undef W
#undef TARGET_ATTRIBUTE
#undef NAME

#define VF f32x8
#define VI i32x8
#define W 8
#define TARGET_ATTRIBUTE __attribute__((target("avx2,fma")))
#define NAME(x) x##8
#include "TorchPowBody.h"
#undef VF
#undef VI
#undef W
#undef TARGET_ATTRIBUTE
#undef NAME

void calib_torch_pow(int width, const float *x, float *out, size_t n, float y) {
  if (width == 16) {
    torchPowArray16(x, out, n, y);
  } else if (width == 8) {
    torchPowArray8(x, out, n, y);
  } else {
    torchPowArray1(x, out, n, y);
  }
}

#else

void calib_torch_pow(int width, const float *x, float *out, size_t n, float y) {
  (void)width;
  torchPowArray1(x, out, n, y);
}

#endif
