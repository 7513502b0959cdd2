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

#endif
#endif
