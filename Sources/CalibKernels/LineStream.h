#ifndef CALIB_KERNELS_LINE_STREAM_H
#define CALIB_KERNELS_LINE_STREAM_H

#if defined(__x86_64__)
#include <immintrin.h>
#include <stdint.h>

/// Consecutive sixteen-float vectors written to `base`, `base + 16`, … with streaming
/// stores of whole 64-byte lines, whatever `base`'s alignment (a float's): each line
/// past the first boundary is put together from one vector's tail and the next one's
/// head. Outputs larger than the cache then neither are read for ownership nor evict the
/// input that the next pass reads. The partial lines at both ends get masked ordinary
/// stores.
typedef struct {
  float *base;
  /// Floats before the first 64-byte boundary (0-15).
  unsigned offset;
  /// Lane i: `offset + i`, the two-vector permutation that forms a line.
  __m512i index;
  __m512 previous;
} calib_line_stream;

__attribute__((target("avx512f"))) static inline calib_line_stream calib_line_stream_start(float *base) {
  calib_line_stream s;
  s.base = base;
  s.offset = (unsigned)(((64 - ((uintptr_t)base & 63)) & 63) / 4);
  s.index = _mm512_add_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
    _mm512_set1_epi32((int)s.offset));
  s.previous = _mm512_setzero_ps();
  return s;
}

/// Writes vector `j` (0, 1, … in order) to `base + 16 j`.
__attribute__((target("avx512f"))) static inline void calib_line_stream_put(calib_line_stream *s, size_t j, __m512 v) {
  if (s->offset == 0) {
    _mm512_stream_ps(s->base + 16 * j, v);
    return;
  }
  if (j == 0) {
    _mm512_mask_storeu_ps(s->base, (__mmask16)((1u << s->offset) - 1), v);
  } else {
    _mm512_stream_ps(s->base + 16 * (j - 1) + s->offset, _mm512_permutex2var_ps(s->previous, s->index, v));
  }
  s->previous = v;
}

/// After `n` vectors: the last one's tail, and a fence so that the streamed lines are
/// visible to every thread before the caller's join.
__attribute__((target("avx512f"))) static inline void calib_line_stream_finish(calib_line_stream *s, size_t n) {
  if (s->offset != 0 && n > 0) {
    _mm512_mask_storeu_ps(s->base + 16 * (n - 1), (__mmask16)~((1u << s->offset) - 1), s->previous);
  }
  _mm_sfence();
}

/// Consecutive eight-float vectors written to `base`, `base + 8`, … with streaming stores
/// of whole 32-byte blocks, whatever `base`'s alignment (a float's): each block past the
/// first boundary is put together from one vector's tail and the next one's head, and
/// the partial blocks at both ends get masked ordinary stores (as `calib_line_stream` does
/// with 64-byte lines on AVX-512).
typedef struct {
  float *base;
  /// Floats before the first 32-byte boundary (0-7).
  int offset;
  /// Lane k: `(offset + k) mod 8`, and whether `offset + k` reaches the next vector.
  __m256i index;
  __m256 fromNext;
  __m256 previous;
} calib_line_stream8;

__attribute__((target("avx2"))) static inline calib_line_stream8 calib_line_stream8_start(float *base) {
  calib_line_stream8 s;
  s.base = base;
  s.offset = (int)(((32 - ((uintptr_t)base & 31)) & 31) / 4);
  __m256i k = _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(s.offset));
  s.index = _mm256_and_si256(k, _mm256_set1_epi32(7));
  s.fromNext = _mm256_castsi256_ps(_mm256_cmpgt_epi32(k, _mm256_set1_epi32(7)));
  s.previous = _mm256_setzero_ps();
  return s;
}

/// Lanes `first..<end` set, as a mask for `maskstore`.
__attribute__((target("avx2"))) static inline __m256i calib_lanes8(int first, int end) {
  __m256i k = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(first), k), _mm256_cmpgt_epi32(_mm256_set1_epi32(end), k));
}

/// Writes vector `j` (0, 1, … in order) to `base + 8 j`.
__attribute__((target("avx2"))) static inline void calib_line_stream8_put(calib_line_stream8 *s, size_t j, __m256 v) {
  if (s->offset == 0) {
    _mm256_stream_ps(s->base + 8 * j, v);
    return;
  }
  if (j == 0) {
    _mm256_maskstore_ps(s->base, calib_lanes8(0, s->offset), v);
  } else {
    __m256 block = _mm256_blendv_ps(
      _mm256_permutevar8x32_ps(s->previous, s->index), _mm256_permutevar8x32_ps(v, s->index), s->fromNext);
    _mm256_stream_ps(s->base + 8 * (j - 1) + s->offset, block);
  }
  s->previous = v;
}

/// After `n` vectors: the last one's tail, and a fence so that the streamed blocks are
/// visible to every thread before the caller's join.
__attribute__((target("avx2"))) static inline void calib_line_stream8_finish(calib_line_stream8 *s, size_t n) {
  if (s->offset != 0 && n > 0) _mm256_maskstore_ps(s->base + 8 * (n - 1), calib_lanes8(s->offset, 8), s->previous);
  _mm_sfence();
}

#endif
#endif
