#include "Kernels8.h"
#include "Transpose8.h"

// `calib_symmetric_scales` and `calib_bf16_magnitude_scales` on AVX2, eight lanes at a
// time: lane for lane the operations of SymmetricScales.c (and of CalibCore's
// `QParamKernel.scales(min:max:)`), with blends where AVX-512 has masks.
#pragma STDC FP_CONTRACT OFF

#if defined(__x86_64__)
#include <stdint.h>

/// `mask ? b : a` per lane.
AVX2 static inline __m256 choose(__m256 mask, __m256 a, __m256 b) { return _mm256_blendv_ps(a, b, mask); }

AVX2 static inline __m256 magnitude(__m256 v) {
  return _mm256_castsi256_ps(_mm256_and_si256(_mm256_castps_si256(v), _mm256_set1_epi32(0x7FFFFFFF)));
}

/// `BFloat16.rounded`: round to nearest even on the bits; NaN lanes kept as they are.
AVX2 static inline __m256 bfloat16Rounded(__m256 x) {
  __m256i b = _mm256_castps_si256(x);
  __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(b, 16), _mm256_set1_epi32(1));
  __m256i r = _mm256_and_si256(_mm256_add_epi32(_mm256_add_epi32(b, _mm256_set1_epi32(0x7FFF)), lsb),
    _mm256_set1_epi32((int)0xFFFF0000u));
  return choose(_mm256_cmp_ps(x, x, _CMP_UNORD_Q), _mm256_castsi256_ps(r), x);
}

/// `QParamKernel.roundedToFloat8`: clamp to ±448, then the normal and subnormal grids of
/// E4M3FN; NaN lanes kept.
AVX2 static inline __m256 float8Rounded(__m256 x) {
  __m256 c = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(448)), _mm256_set1_ps(-448));
  __m256i bits = _mm256_castps_si256(c);
  __m256i sign = _mm256_and_si256(bits, _mm256_set1_epi32((int)0x80000000u));
  __m256i m = _mm256_and_si256(bits, _mm256_set1_epi32(0x7FFFFFFF));
  __m256i odd = _mm256_and_si256(_mm256_srli_epi32(m, 20), _mm256_set1_epi32(1));
  __m256i normal = _mm256_and_si256(_mm256_add_epi32(_mm256_add_epi32(m, _mm256_set1_epi32(0x7FFFF)), odd),
    _mm256_set1_epi32((int)~0xFFFFFu));
  __m256 mag = _mm256_castsi256_ps(m);
  __m256 shift = _mm256_set1_ps(0x1p14f);
  __m256 small = _mm256_sub_ps(_mm256_add_ps(mag, shift), shift);
  __m256 snapped = choose(_mm256_cmp_ps(mag, _mm256_set1_ps(0x1p-6f), _CMP_GE_OQ), small, _mm256_castsi256_ps(normal));
  __m256 rounded = _mm256_castsi256_ps(_mm256_or_si256(_mm256_castps_si256(snapped), sign));
  return choose(_mm256_cmp_ps(x, x, _CMP_UNORD_Q), rounded, x);
}

/// Consecutive eight-float vectors written to `base`, `base + 8`, … with streaming stores
/// of whole 32-byte blocks, whatever `base`'s alignment (a float's): each block past the
/// first boundary is put together from one vector's tail and the next one's head, and
/// the partial blocks at both ends get masked ordinary stores (as LineStream.h does with
/// 64-byte lines on AVX-512).
typedef struct {
  float *base;
  /// Floats before the first 32-byte boundary (0-7).
  int offset;
  /// Lane k: `(offset + k) mod 8`, and whether `offset + k` reaches the next vector.
  __m256i index;
  __m256 fromNext;
  __m256 previous;
} stream8;

AVX2 static inline stream8 streamStart(float *base) {
  stream8 s;
  s.base = base;
  s.offset = (int)(((32 - ((uintptr_t)base & 31)) & 31) / 4);
  __m256i k = _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(s.offset));
  s.index = _mm256_and_si256(k, _mm256_set1_epi32(7));
  s.fromNext = _mm256_castsi256_ps(_mm256_cmpgt_epi32(k, _mm256_set1_epi32(7)));
  s.previous = _mm256_setzero_ps();
  return s;
}

/// Lanes `first..<end` set, as a mask for `maskstore`.
AVX2 static inline __m256i lanes(int first, int end) {
  __m256i k = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(first), k), _mm256_cmpgt_epi32(_mm256_set1_epi32(end), k));
}

/// Writes vector `j` (0, 1, … in order) to `base + 8 j`.
AVX2 static inline void streamPut(stream8 *s, size_t j, __m256 v) {
  if (s->offset == 0) {
    _mm256_stream_ps(s->base + 8 * j, v);
    return;
  }
  if (j == 0) {
    _mm256_maskstore_ps(s->base, lanes(0, s->offset), v);
  } else {
    __m256 block = choose(s->fromNext, _mm256_permutevar8x32_ps(s->previous, s->index), _mm256_permutevar8x32_ps(v, s->index));
    _mm256_stream_ps(s->base + 8 * (j - 1) + s->offset, block);
  }
  s->previous = v;
}

/// After `n` vectors: the last one's tail, and a fence so that the streamed blocks are
/// visible to every thread before the caller's join.
AVX2 static inline void streamFinish(stream8 *s, size_t n) {
  if (s->offset != 0 && n > 0) _mm256_maskstore_ps(s->base + 8 * (n - 1), lanes(s->offset, 8), s->previous);
  _mm_sfence();
}

/// The loop of both entry points (`magnitudes` NULL: ranges; `mins`, `maxs` NULL: bf16
/// magnitudes), as `scales16` in SymmetricScales.c.
AVX2 __attribute__((always_inline)) static inline void scales8(
  const float *mins, const float *maxs, const uint16_t *magnitudes, size_t count,
  const calib_symmetric_scale_params *params, float *scales, float *zeros
) {
  const calib_symmetric_scale_params p = *params;
  const __m256 zero = _mm256_setzero_ps(), halfWidth = _mm256_set1_ps(p.half_width);
  const __m256 global = _mm256_set1_ps(p.global_scale), epsilon = _mm256_set1_ps(p.epsilon);
  const __m256 nan = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FC00000));
  const int streams = p.streams;
  stream8 scaleStream = streamStart(scales), zeroStream = streamStart(zeros);
  for (size_t i = 0; i + 8 <= count; i += 8) {
    __m256 amax;
    if (magnitudes) {
      // bf16 magnitudes widened to float32: exact, non-negative and finite.
      amax = _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(magnitudes + i))), 16));
    } else {
      __m256 lo = _mm256_loadu_ps(mins + i), hi = _mm256_loadu_ps(maxs + i);
      // min(lo, 0) and max(hi, 0); a NaN stays (its comparisons are false).
      __m256 mn = choose(_mm256_cmp_ps(lo, zero, _CMP_GT_OQ), lo, zero);
      __m256 mx = choose(_mm256_cmp_ps(hi, zero, _CMP_LT_OQ), hi, zero);
      __m256 a = magnitude(mn), b = magnitude(mx);
      amax = choose(_mm256_cmp_ps(b, a, _CMP_GT_OQ), a, b);
      __m256 sawNaN = _mm256_or_ps(_mm256_cmp_ps(mn, mn, _CMP_UNORD_Q), _mm256_cmp_ps(mx, mx, _CMP_UNORD_Q));
      amax = choose(sawNaN, amax, nan);
    }
    __m256 s = _mm256_div_ps(amax, halfWidth);
    if (p.bfloat16) s = bfloat16Rounded(s);
    if (p.has_global_scale) s = _mm256_mul_ps(global, s);
    if (p.float8) s = float8Rounded(s);
    s = choose(_mm256_cmp_ps(s, zero, _CMP_EQ_OQ), s, epsilon);
    if (streams) {
      streamPut(&scaleStream, i / 8, s);
      streamPut(&zeroStream, i / 8, zero);
    } else {
      _mm256_storeu_ps(scales + i, s);
      _mm256_storeu_ps(zeros + i, zero);
    }
  }
  if (streams) {
    streamFinish(&scaleStream, count / 8);
    streamFinish(&zeroStream, count / 8);
  }
}

AVX2 void calib_symmetric_scales_avx2(
  const float *mins, const float *maxs, size_t count, const calib_symmetric_scale_params *params, float *scales,
  float *zeros
) {
  scales8(mins, maxs, NULL, count, params, scales, zeros);
}

AVX2 void calib_bf16_magnitude_scales_avx2(
  const uint16_t *magnitudes, size_t count, const calib_symmetric_scale_params *params, float *scales, float *zeros
) {
  scales8(NULL, NULL, magnitudes, count, params, scales, zeros);
}

#endif
