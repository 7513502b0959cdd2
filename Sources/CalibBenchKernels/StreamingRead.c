#include "CalibBenchKernels.h"

/// The prefetch distance of CalibKernels' range kernels (`calib_prefetch_ahead`), in bytes.
static const size_t ahead = 16384;

static uint64_t portable(const uint64_t *p, size_t n) {
  uint64_t a = 0, b = 0, c = 0, d = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    a ^= p[i];
    b ^= p[i + 1];
    c ^= p[i + 2];
    d ^= p[i + 3];
  }
  for (; i < n; i++) a ^= p[i];
  return a ^ b ^ c ^ d;
}

#if defined(__x86_64__)
#include <immintrin.h>

/// 256 bytes per step in four 512-bit accumulators.
__attribute__((target("avx512f"))) static uint64_t wide16(const uint64_t *p, size_t n) {
  __m512i a = _mm512_setzero_si512(), b = a, c = a, d = a;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const char *line = (const char *)(p + i) + ahead;
    for (int k = 0; k < 4; k++) _mm_prefetch(line + 64 * k, _MM_HINT_T0);
    a = _mm512_xor_si512(a, _mm512_loadu_si512(p + i));
    b = _mm512_xor_si512(b, _mm512_loadu_si512(p + i + 8));
    c = _mm512_xor_si512(c, _mm512_loadu_si512(p + i + 16));
    d = _mm512_xor_si512(d, _mm512_loadu_si512(p + i + 24));
  }
  __m512i v = _mm512_xor_si512(_mm512_xor_si512(a, b), _mm512_xor_si512(c, d));
  uint64_t lanes[8];
  _mm512_storeu_si512(lanes, v);
  uint64_t folded = portable(p + i, n - i);
  for (int k = 0; k < 8; k++) folded ^= lanes[k];
  return folded;
}

/// 128 bytes per step in four 256-bit accumulators.
__attribute__((target("avx2"))) static uint64_t wide8(const uint64_t *p, size_t n) {
  __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const char *line = (const char *)(p + i) + ahead;
    _mm_prefetch(line, _MM_HINT_T0);
    _mm_prefetch(line + 64, _MM_HINT_T0);
    a = _mm256_xor_si256(a, _mm256_loadu_si256((const __m256i *)(p + i)));
    b = _mm256_xor_si256(b, _mm256_loadu_si256((const __m256i *)(p + i + 4)));
    c = _mm256_xor_si256(c, _mm256_loadu_si256((const __m256i *)(p + i + 8)));
    d = _mm256_xor_si256(d, _mm256_loadu_si256((const __m256i *)(p + i + 12)));
  }
  __m256i v = _mm256_xor_si256(_mm256_xor_si256(a, b), _mm256_xor_si256(c, d));
  uint64_t lanes[4];
  _mm256_storeu_si256((__m256i *)lanes, v);
  uint64_t folded = portable(p + i, n - i);
  for (int k = 0; k < 4; k++) folded ^= lanes[k];
  return folded;
}

uint64_t calib_bench_stream_read(const uint64_t *words, size_t count) {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return wide16(words, count);
  if (__builtin_cpu_supports("avx2")) return wide8(words, count);
  return portable(words, count);
}

#else

uint64_t calib_bench_stream_read(const uint64_t *words, size_t count) { return portable(words, count); }

#endif
