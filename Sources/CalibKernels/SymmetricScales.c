#include "CalibKernels.h"
#include "LineStream.h"

// Symmetric scales at 16 lanes (AVX-512) and 8 (AVX2), both from SymmetricScalesBody.h.
// Every operation stays a separate, rounded IEEE operation, as in the Swift lanes.
#pragma STDC FP_CONTRACT OFF

#if defined(__x86_64__)
#include <immintrin.h>

#include "VectorTypes.h"

typedef unsigned short u16x16 __attribute__((vector_size(32), aligned(2)));
typedef unsigned short u16x8 __attribute__((vector_size(16), aligned(2)));
typedef unsigned char u8x16 __attribute__((vector_size(16), aligned(1)));
typedef unsigned char u8x8 __attribute__((vector_size(8), aligned(1)));
typedef unsigned char u8x64 __attribute__((vector_size(64), aligned(1)));
typedef unsigned char u8x32 __attribute__((vector_size(32), aligned(1)));

#define VF f32x16
#define VU u32x16
#define VH u16x16
#define VB u8x16
#define VQ u8x64
#define PAIR_LANES \
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, \
  16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
#define QUAD_LANES \
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, \
  16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, \
  32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, \
  48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63
#define W 16
#define TARGET "avx512f"
#define NAME(x) x##16
#define STREAM calib_line_stream
#define STREAM_START(base) calib_line_stream_start(base)
#define STREAM_PUT(s, j, v) calib_line_stream_put(s, j, (__m512)(v))
#define STREAM_FINISH(s, n) calib_line_stream_finish(s, n)
#include "SymmetricScalesBody.h"

#define VF f32x8
#define VU u32x8
#define VH u16x8
#define VB u8x8
#define VQ u8x32
#define PAIR_LANES \
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
#define QUAD_LANES \
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, \
  16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
#define W 8
#define TARGET "avx2"
#define NAME(x) x##8
#define STREAM calib_line_stream8
#define STREAM_START(base) calib_line_stream8_start(base)
#define STREAM_PUT(s, j, v) calib_line_stream8_put(s, j, (__m256)(v))
#define STREAM_FINISH(s, n) calib_line_stream8_finish(s, n)
#include "SymmetricScalesBody.h"

void calib_symmetric_scales(
  int width, const float *mins, const float *maxs, size_t count, const calib_symmetric_scale_params *params,
  float *scales, uint8_t *float8_scales
) {
  if (width == 16) {
    symmetricScales16(mins, maxs, count, params, scales, float8_scales);
  } else {
    symmetricScales8(mins, maxs, count, params, scales, float8_scales);
  }
}

void calib_bf16_magnitude_scales(
  int width, const uint16_t *magnitudes, size_t count, const calib_symmetric_scale_params *params, float *scales,
  uint8_t *float8_scales
) {
  if (width == 16) {
    magnitudeScales16(magnitudes, count, params, scales, float8_scales);
  } else {
    magnitudeScales8(magnitudes, count, params, scales, float8_scales);
  }
}

#else

void calib_symmetric_scales(
  int width, const float *mins, const float *maxs, size_t count, const calib_symmetric_scale_params *params,
  float *scales, uint8_t *float8_scales
) {
  (void)width; (void)mins; (void)maxs; (void)count; (void)params; (void)scales; (void)float8_scales;
  __builtin_trap();
}

void calib_bf16_magnitude_scales(
  int width, const uint16_t *magnitudes, size_t count, const calib_symmetric_scale_params *params, float *scales,
  uint8_t *float8_scales
) {
  (void)width; (void)magnitudes; (void)count; (void)params; (void)scales; (void)float8_scales;
  __builtin_trap();
}

#endif
