#include "CalibKernels.h"
#include "LineStream.h"

// E4M3FN scale bytes of bf16 or f16 magnitudes looked up rather than computed, for the
// magnitudes where the lookup has been checked, value by value, against the kernel.
//
// Within the normal ranges of float32 and E4M3FN, doubling a magnitude doubles every step
// of the scale (the quotient, its bf16 or f16 rounding, the product with the global scale
// and its E4M3FN rounding), and a doubled E4M3FN value's code is 8 more (one binade, three
// mantissa bits). So one binade's codes give the codes of every binade where that holds:
// the top one up to the largest magnitude, and those below it down to where the scales
// reach E4M3FN's subnormals. A bf16 binade has 128 magnitudes, one table of codes indexed
// by the seven mantissa bits. An f16 binade has 1,024: the top seven mantissa bits index
// the code of the first of eight, and a second table says from which low three bits on
// the code is one more (E4M3FN's steps are a sixteenth of a binade apart or more, so
// eight magnitudes, a 128th of one, cross at most one). The build checks exactly which
// magnitudes all that predicts, and the kernel computes the others.

#if defined(__x86_64__)
#include <immintrin.h>

int calib_float8_scale_lookup_available(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
    && __builtin_cpu_supports("avx512vbmi");
}

/// Mantissa bits of the magnitudes: 10 for f16 (`float16` nonzero), 7 for bf16.
static inline unsigned mantissaBits(int float16) { return float16 ? 10 : 7; }

/// The code the lookup gives the magnitude `bits`: its top seven mantissa bits' code in
/// binade `base`, one more from its low bits' threshold on (f16), and 8 more per binade
/// above `base`, modulo 256 as the kernel's byte lanes add.
static uint8_t lookedUpCode(const calib_float8_scale_table *table, unsigned mantissa, unsigned bits) {
  const unsigned low = mantissa - 7, index = (bits >> low) & 0x7F;
  const unsigned up = (bits & ((1u << low) - 1)) >= table->thresholds[index];
  return (uint8_t)(table->codes[index] + up + 8u * ((bits >> mantissa) - table->base));
}

/// The kernel's codes of `count` (a multiple of 16) magnitudes: bf16 ones directly, f16
/// ones widened 64 at a time. AVX-512 only.
static void computedCodes(const calib_symmetric_scale_params *plain, const uint16_t *bits, size_t count, uint8_t *codes) {
  if (!plain->float16) {
    calib_bf16_magnitude_scales(16, bits, count, plain, NULL, codes);
    return;
  }
  float widened[64];
  for (size_t i = 0; i < count; i += 64) {
    const size_t n = count - i < 64 ? count - i : 64;
    calib_f16_widen(bits + i, n, widened);
    calib_symmetric_scales(16, widened, widened, n, plain, NULL, codes + i);
  }
}

int calib_float8_scale_table_build(
  const calib_symmetric_scale_params *params, uint16_t largest, calib_float8_scale_table *table
) {
  calib_symmetric_scale_params plain = *params;
  plain.streams = 0;
  const unsigned top = largest, mantissa = mantissaBits(params->float16), low = mantissa - 7;
  const unsigned infinity = params->float16 ? 0x7C00 : 0x7F80;
  // Empty until checked: lowest above highest.
  table->lowest = 1;
  table->highest = 0;
  // A magnitude in the first binade has no binade below it to take codes from.
  if (!calib_float8_scale_lookup_available() || !plain.float8 || top >= infinity || (top >> mantissa) < 2) return 0;
  table->base = (uint8_t)((top >> mantissa) - 1);
  uint16_t values[1024];
  uint8_t codes[1024];
  const unsigned binade = 1u << mantissa;
  for (unsigned m = 0; m < binade; m++) values[m] = (uint16_t)((unsigned)table->base << mantissa | m);
  computedCodes(&plain, values, binade, codes);
  for (unsigned index = 0; index < 128; index++) {
    const uint8_t *run = codes + (index << low);
    table->codes[index] = run[0];
    table->thresholds[index] = 8;
    for (unsigned k = 1; k < (1u << low); k++) {
      if (run[k] != run[0]) {
        table->thresholds[index] = (uint8_t)k;
        break;
      }
    }
  }
  // Down from the largest magnitude, 128 at a time, to the first one the lookup misses.
  for (unsigned start = top & ~0x7Fu;; start -= 128) {
    for (unsigned m = 0; m < 128; m++) values[m] = (uint16_t)(start + m);
    computedCodes(&plain, values, 128, codes);
    for (unsigned k = top - start < 127 ? top - start + 1 : 128; k-- > 0;) {
      if (codes[k] != lookedUpCode(table, mantissa, start + k)) {
        // Nothing checked when the largest magnitude itself misses.
        if (start + k == top) return 0;
        table->lowest = (uint16_t)(start + k + 1);
        table->highest = largest;
        return 1;
      }
    }
    if (start == 0) {
      table->lowest = 0;
      table->highest = largest;
      return 1;
    }
  }
}

/// A table's two halves in registers, and the base binade in every byte.
typedef struct {
  __m512i codes[2], thresholds[2], base;
} loadedTable;

/// Sixty-four codes from the table, the magnitudes given as two vectors `a` and `b`: the
/// bytes gathered by `lowBytes` (byte k of a pair of vectors is byte 2k, the low bytes of
/// 64 16-bit lanes), the byte permute reading seven index bits of each.
__attribute__((target("avx512f,avx512bw,avx512vbmi"), always_inline)) static inline __m512i lookedUp(
  __m512i a, __m512i b, const loadedTable *table, __m512i lowBytes, const int float16
) {
  const unsigned mantissa = mantissaBits(float16);
  __m512i index = float16 ? _mm512_permutex2var_epi8(_mm512_srli_epi16(a, 3), lowBytes, _mm512_srli_epi16(b, 3))
                          : _mm512_permutex2var_epi8(a, lowBytes, b);
  __m512i binades =
    _mm512_permutex2var_epi8(_mm512_srli_epi16(a, mantissa), lowBytes, _mm512_srli_epi16(b, mantissa));
  // 8 · (binade - base) per byte: a 16-bit shift whose bits from the next byte are masked off.
  __m512i steps = _mm512_and_si512(
    _mm512_slli_epi16(_mm512_sub_epi8(binades, table->base), 3), _mm512_set1_epi8((char)0xF8));
  __m512i codes = _mm512_add_epi8(_mm512_permutex2var_epi8(table->codes[0], index, table->codes[1]), steps);
  if (!float16) return codes;
  const __m512i thresholds = _mm512_permutex2var_epi8(table->thresholds[0], index, table->thresholds[1]);
  __m512i lowBits = _mm512_and_si512(_mm512_permutex2var_epi8(a, lowBytes, b), _mm512_set1_epi8(7));
  return _mm512_mask_sub_epi8(codes, _mm512_cmpge_epu8_mask(lowBits, thresholds), codes, _mm512_set1_epi8(-1));
}

/// ``calib_half_float8_scales`` with the lookup, 64 magnitudes at a time: looked up where
/// all 64 are within the table's range, computed otherwise.
__attribute__((target("avx512f,avx512bw,avx512vbmi"), always_inline)) static inline void lookedUpScales(
  const uint16_t *magnitudes, size_t count, const calib_symmetric_scale_params *params,
  const calib_float8_scale_table *table, uint8_t *float8Scales, const int float16
) {
  calib_symmetric_scale_params plain = *params;
  plain.streams = 0;
  const __m512i lowest = _mm512_set1_epi16((short)table->lowest), highest = _mm512_set1_epi16((short)table->highest);
  const loadedTable loaded = {
    {_mm512_loadu_si512(table->codes), _mm512_loadu_si512(table->codes + 64)},
    {_mm512_loadu_si512(table->thresholds), _mm512_loadu_si512(table->thresholds + 64)},
    _mm512_set1_epi8((char)table->base)};
  uint8_t even[64];
  for (int k = 0; k < 64; k++) even[k] = (uint8_t)(2 * k);
  const __m512i lowBytes = _mm512_loadu_si512(even);
  // Whole lines streamed where the bytes start on a float's alignment (LineStream.h's unit).
  const int streams = params->streams && ((uintptr_t)float8Scales & 3) == 0;
  calib_line_stream stream = calib_line_stream_start((float *)float8Scales);
  size_t i = 0;
  for (; i + 64 <= count; i += 64) {
    __m512i a = _mm512_loadu_si512(magnitudes + i), b = _mm512_loadu_si512(magnitudes + i + 32);
    __mmask32 inA = _mm512_cmpge_epu16_mask(a, lowest) & _mm512_cmple_epu16_mask(a, highest);
    __mmask32 inB = _mm512_cmpge_epu16_mask(b, lowest) & _mm512_cmple_epu16_mask(b, highest);
    __m512i codes;
    if ((inA & inB) == 0xFFFFFFFFu) {
      codes = lookedUp(a, b, &loaded, lowBytes, float16);
    } else {
      uint8_t computed[64];
      computedCodes(&plain, magnitudes + i, 64, computed);
      codes = _mm512_loadu_si512(computed);
    }
    if (streams) {
      calib_line_stream_put(&stream, i / 64, _mm512_castsi512_ps(codes));
    } else {
      _mm512_storeu_si512(float8Scales + i, codes);
    }
  }
  if (streams) calib_line_stream_finish(&stream, count / 64);
  if (i < count) computedCodes(&plain, magnitudes + i, count - i, float8Scales + i);
}

__attribute__((target("avx512f,avx512bw,avx512vbmi"))) static void lookedUpBF16Scales(
  const uint16_t *magnitudes, size_t count, const calib_symmetric_scale_params *params,
  const calib_float8_scale_table *table, uint8_t *float8Scales
) {
  lookedUpScales(magnitudes, count, params, table, float8Scales, 0);
}

__attribute__((target("avx512f,avx512bw,avx512vbmi"))) static void lookedUpF16Scales(
  const uint16_t *magnitudes, size_t count, const calib_symmetric_scale_params *params,
  const calib_float8_scale_table *table, uint8_t *float8Scales
) {
  lookedUpScales(magnitudes, count, params, table, float8Scales, 1);
}

void calib_half_float8_scales(
  int width, const uint16_t *magnitudes, size_t count, const calib_symmetric_scale_params *params,
  const calib_float8_scale_table *table, uint8_t *float8_scales
) {
  if (table && width == 16 && calib_float8_scale_lookup_available()) {
    if (params->float16) {
      lookedUpF16Scales(magnitudes, count, params, table, float8_scales);
    } else {
      lookedUpBF16Scales(magnitudes, count, params, table, float8_scales);
    }
  } else if (params->float16) {
    calib_symmetric_scale_params plain = *params;
    plain.streams = 0;
    computedCodes(&plain, magnitudes, count, float8_scales);
  } else {
    calib_bf16_magnitude_scales(width, magnitudes, count, params, NULL, float8_scales);
  }
}

#else

int calib_float8_scale_lookup_available(void) { return 0; }

int calib_float8_scale_table_build(
  const calib_symmetric_scale_params *params, uint16_t largest, calib_float8_scale_table *table
) {
  (void)params;
  (void)largest;
  table->lowest = 1;
  table->highest = 0;
  return 0;
}

void calib_half_float8_scales(
  int width, const uint16_t *magnitudes, size_t count, const calib_symmetric_scale_params *params,
  const calib_float8_scale_table *table, uint8_t *float8_scales
) {
  (void)table;
  if (params->float16) __builtin_trap();
  calib_bf16_magnitude_scales(width, magnitudes, count, params, NULL, float8_scales);
}

#endif
