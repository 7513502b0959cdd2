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

typedef float f32x16 __attribute__((vector_size(64), aligned(4)));
typedef int i32x16 __attribute__((vector_size(64), aligned(4)));
typedef float f32x8 __attribute__((vector_size(32), aligned(4)));
typedef int i32x8 __attribute__((vector_size(32), aligned(4)));

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

static __attribute__((target("avx512f"))) void torchPowArray16(const float *x, float *out, size_t n, float y) {
  f32x16 vy = powSplat16(y);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    f32x16 v;
    __builtin_memcpy(&v, x + i, sizeof v);
    v = torchPow16(v, vy);
    __builtin_memcpy(out + i, &v, sizeof v);
  }
  for (; i < n; i++) out[i] = calib_torch_powf(x[i], y);
}

static __attribute__((target("avx2,fma"))) void torchPowArray8(const float *x, float *out, size_t n, float y) {
  f32x8 vy = powSplat8(y);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    f32x8 v;
    __builtin_memcpy(&v, x + i, sizeof v);
    v = torchPow8(v, vy);
    __builtin_memcpy(out + i, &v, sizeof v);
  }
  for (; i < n; i++) out[i] = calib_torch_powf(x[i], y);
}

void calib_torch_pow(int width, const float *x, float *out, size_t n, float y) {
  if (width == 16) {
    torchPowArray16(x, out, n, y);
  } else if (width == 8) {
    torchPowArray8(x, out, n, y);
  } else {
    for (size_t i = 0; i < n; i++) out[i] = calib_torch_powf(x[i], y);
  }
}

#else

void calib_torch_pow(int width, const float *x, float *out, size_t n, float y) {
  (void)width;
  for (size_t i = 0; i < n; i++) out[i] = calib_torch_powf(x[i], y);
}

#endif
