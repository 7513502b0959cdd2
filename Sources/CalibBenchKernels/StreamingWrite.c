#include "CalibBenchKernels.h"

/// Plain stores, for a CPU without AVX2 and for the ends of an unaligned buffer.
static void portable(uint64_t *p, size_t n, uint64_t value) {
  for (size_t i = 0; i < n; i++) p[i] = value;
}

/// Plain stores of the words before `p`'s first `align`-byte boundary (at most `n`);
/// returns how many.
static size_t head(uint64_t *p, size_t n, size_t align, uint64_t value) {
  size_t words = ((align - ((uintptr_t)p & (align - 1))) & (align - 1)) / 8;
  if (words > n) words = n;
  portable(p, words, value);
  return words;
}

#if defined(__x86_64__)
#include <immintrin.h>

/// Whole 64-byte lines of streaming stores from the first line boundary; the words before
/// it and after the last whole line are stored plainly.
__attribute__((target("avx512f"))) static void wide16(uint64_t *p, size_t n, uint64_t value) {
  const __m512i v = _mm512_set1_epi64((long long)value);
  size_t i = head(p, n, 64, value);
  for (; i + 8 <= n; i += 8) _mm512_stream_si512((__m512i *)(p + i), v);
  _mm_sfence();
  portable(p + i, n - i, value);
}

/// ``wide16`` with 32-byte streaming stores.
__attribute__((target("avx2"))) static void wide8(uint64_t *p, size_t n, uint64_t value) {
  const __m256i v = _mm256_set1_epi64x((long long)value);
  size_t i = head(p, n, 32, value);
  for (; i + 4 <= n; i += 4) _mm256_stream_si256((__m256i *)(p + i), v);
  _mm_sfence();
  portable(p + i, n - i, value);
}

void calib_bench_stream_write(uint64_t *words, size_t count, uint64_t value) {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) {
    wide16(words, count, value);
  } else if (__builtin_cpu_supports("avx2")) {
    wide8(words, count, value);
  } else {
    portable(words, count, value);
  }
}

#else

void calib_bench_stream_write(uint64_t *words, size_t count, uint64_t value) { portable(words, count, value); }

#endif
