#include "Kernels8.h"
#include "LineStream.h"

// Every operation stays a separate, rounded IEEE operation, as in the Swift lanes.
#pragma STDC FP_CONTRACT OFF

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))

AVX512 static inline __m512 magnitude(__m512 v) {
  return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7FFFFFFF)));
}

/// `BFloat16.rounded`: round to nearest even on the bits; NaN lanes kept as they are.
AVX512 static inline __m512 bfloat16Rounded(__m512 x) {
  __m512i b = _mm512_castps_si512(x);
  __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(b, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_and_si512(_mm512_add_epi32(_mm512_add_epi32(b, _mm512_set1_epi32(0x7FFF)), lsb),
    _mm512_set1_epi32((int)0xFFFF0000u));
  __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
  return _mm512_mask_blend_ps(nan, _mm512_castsi512_ps(r), x);
}

/// `QParamKernel.roundedToFloat8`: clamp to ±448, then the normal and subnormal grids of
/// E4M3FN; NaN lanes kept.
AVX512 static inline __m512 float8Rounded(__m512 x) {
  // A NaN lane clamps to 448 here (vminps returns its second operand then) and is
  // restored at the end.
  __m512 c = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(448)), _mm512_set1_ps(-448));
  __m512i bits = _mm512_castps_si512(c);
  __m512i sign = _mm512_and_si512(bits, _mm512_set1_epi32((int)0x80000000u));
  __m512i m = _mm512_and_si512(bits, _mm512_set1_epi32(0x7FFFFFFF));
  __m512i odd = _mm512_and_si512(_mm512_srli_epi32(m, 20), _mm512_set1_epi32(1));
  __m512i normal = _mm512_and_si512(_mm512_add_epi32(_mm512_add_epi32(m, _mm512_set1_epi32(0x7FFFF)), odd),
    _mm512_set1_epi32((int)~0xFFFFFu));
  __m512 mag = _mm512_castsi512_ps(m);
  __m512 shift = _mm512_set1_ps(0x1p14f);
  __m512i small = _mm512_castps_si512(_mm512_sub_ps(_mm512_add_ps(mag, shift), shift));
  __mmask16 isNormal = _mm512_cmp_ps_mask(mag, _mm512_set1_ps(0x1p-6f), _CMP_GE_OQ);
  __m512i snapped = _mm512_mask_blend_epi32(isNormal, small, normal);
  __m512 rounded = _mm512_castsi512_ps(_mm512_or_si512(snapped, sign));
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), rounded, x);
}

/// The loop of ``calib_symmetric_scales`` (`magnitudes` NULL) and of
/// ``calib_bf16_magnitude_scales`` (`mins` and `maxs` NULL), specialized for each where
/// it is inlined.
AVX512 __attribute__((always_inline)) static inline void scales16(
  const float *mins, const float *maxs, const uint16_t *magnitudes, size_t count,
  const calib_symmetric_scale_params *params, float *scales, float *zeros
) {
  const calib_symmetric_scale_params p = *params;
  const __m512 zero = _mm512_setzero_ps(), halfWidth = _mm512_set1_ps(p.half_width);
  const __m512 global = _mm512_set1_ps(p.global_scale), epsilon = _mm512_set1_ps(p.epsilon);
  const __m512 nan = _mm512_castsi512_ps(_mm512_set1_epi32(0x7FC00000));
  // Outputs larger than a core's L2 go around the cache (NVFP4's 1M scales and zero
  // points: 8 MiB that would otherwise be read for ownership, then evict the input that
  // the next pass reads).
  const int streams = p.streams;
  calib_line_stream scaleStream = calib_line_stream_start(scales), zeroStream = calib_line_stream_start(zeros);
  for (size_t i = 0; i + 16 <= count; i += 16) {
    __m512 amax;
    if (magnitudes) {
      // bf16 magnitudes widened to float32: exact, non-negative and finite.
      amax = _mm512_castsi512_ps(
        _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(magnitudes + i))), 16));
    } else {
      __m512 lo = _mm512_loadu_ps(mins + i), hi = _mm512_loadu_ps(maxs + i);
      // min(lo, 0) and max(hi, 0); a NaN stays (its comparisons are false).
      __m512 mn = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(lo, zero, _CMP_GT_OQ), lo, zero);
      __m512 mx = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(hi, zero, _CMP_LT_OQ), hi, zero);
      __m512 a = magnitude(mn), b = magnitude(mx);
      amax = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(b, a, _CMP_GT_OQ), a, b);
      __mmask16 sawNaN = _mm512_cmp_ps_mask(mn, mn, _CMP_UNORD_Q) | _mm512_cmp_ps_mask(mx, mx, _CMP_UNORD_Q);
      amax = _mm512_mask_blend_ps(sawNaN, amax, nan);
    }
    __m512 s = _mm512_div_ps(amax, halfWidth);
    if (p.bfloat16) s = bfloat16Rounded(s);
    if (p.has_global_scale) s = _mm512_mul_ps(global, s);
    if (p.float8) s = float8Rounded(s);
    s = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(s, zero, _CMP_EQ_OQ), s, epsilon);
    if (streams) {
      calib_line_stream_put(&scaleStream, i / 16, s);
      calib_line_stream_put(&zeroStream, i / 16, zero);
    } else {
      _mm512_storeu_ps(scales + i, s);
      _mm512_storeu_ps(zeros + i, zero);
    }
  }
  if (streams) {
    calib_line_stream_finish(&scaleStream, count / 16);
    calib_line_stream_finish(&zeroStream, count / 16);
  }
}

AVX512 static void symmetricScales16(
  const float *mins, const float *maxs, size_t count, const calib_symmetric_scale_params *params, float *scales,
  float *zeros
) {
  scales16(mins, maxs, NULL, count, params, scales, zeros);
}

AVX512 static void magnitudeScales16(
  const uint16_t *magnitudes, size_t count, const calib_symmetric_scale_params *params, float *scales, float *zeros
) {
  scales16(NULL, NULL, magnitudes, count, params, scales, zeros);
}

void calib_symmetric_scales(
  int width, const float *mins, const float *maxs, size_t count, const calib_symmetric_scale_params *params,
  float *scales, float *zeros
) {
  if (width == 16) {
    symmetricScales16(mins, maxs, count, params, scales, zeros);
  } else {
    calib_symmetric_scales_avx2(mins, maxs, count, params, scales, zeros);
  }
}

void calib_bf16_magnitude_scales(
  int width, const uint16_t *magnitudes, size_t count, const calib_symmetric_scale_params *params, float *scales,
  float *zeros
) {
  if (width == 16) {
    magnitudeScales16(magnitudes, count, params, scales, zeros);
  } else {
    calib_bf16_magnitude_scales_avx2(magnitudes, count, params, scales, zeros);
  }
}

#else

void calib_symmetric_scales(
  int width, const float *mins, const float *maxs, size_t count, const calib_symmetric_scale_params *params,
  float *scales, float *zeros
) {
  (void)width; (void)mins; (void)maxs; (void)count; (void)params; (void)scales; (void)zeros;
  __builtin_trap();
}

void calib_bf16_magnitude_scales(
  int width, const uint16_t *magnitudes, size_t count, const calib_symmetric_scale_params *params, float *scales,
  float *zeros
) {
  (void)width; (void)magnitudes; (void)count; (void)params; (void)scales; (void)zeros;
  __builtin_trap();
}

#endif
