#include "CalibKernels.h"
#include "LineStream.h"

// E4M3FN scale bytes of bf16 magnitudes looked up rather than computed, for the magnitudes
// where the lookup has been checked, value by value, against `calib_bf16_magnitude_scales`.
//
// Within the normal ranges of float32 and E4M3FN, doubling a magnitude doubles every step
// of the scale (the quotient, its bf16 rounding, the product with the global scale and
// its E4M3FN rounding), and a doubled E4M3FN value's code is 8 more (one binade, three
// mantissa bits). So one binade's codes, indexed by the seven mantissa bits, give the
// codes of every binade where that holds: the top one up to the largest magnitude, and
// those below it down to where the scales reach E4M3FN's subnormals. The build checks
// exactly which magnitudes those are, and the kernel computes the others.

#if defined(__x86_64__)
#include <immintrin.h>

int calib_float8_scale_lookup_available(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
    && __builtin_cpu_supports("avx512vbmi");
}

/// The code the lookup gives the magnitude `bits`: its mantissa's code in binade `base`,
/// 8 more per binade above it, modulo 256 as the kernel's byte lanes add.
static uint8_t lookedUpCode(const calib_float8_scale_table *table, unsigned bits) {
  return (uint8_t)(table->codes[bits & 0x7F] + 8u * ((bits >> 7) - table->base));
}

int calib_float8_scale_table_build(
  const calib_symmetric_scale_params *params, uint16_t largest, calib_float8_scale_table *table
) {
  calib_symmetric_scale_params plain = *params;
  plain.streams = 0;
  const unsigned top = largest;
  // Empty until checked: lowest above highest.
  table->lowest = 1;
  table->highest = 0;
  // A magnitude in the first binade has no binade below it to take codes from.
  if (!calib_float8_scale_lookup_available() || !plain.float8 || top >= 0x7F80 || top < 0x100) return 0;
  table->base = (uint8_t)((top >> 7) - 1);
  uint16_t values[128];
  uint8_t codes[128];
  for (unsigned m = 0; m < 128; m++) values[m] = (uint16_t)((unsigned)table->base << 7 | m);
  calib_bf16_magnitude_scales(16, values, 128, &plain, NULL, table->codes);
  // Down from the largest magnitude, 128 at a time, to the first one the lookup misses.
  for (unsigned start = top & ~0x7Fu;; start -= 128) {
    for (unsigned m = 0; m < 128; m++) values[m] = (uint16_t)(start + m);
    calib_bf16_magnitude_scales(16, values, 128, &plain, NULL, codes);
    for (unsigned k = top - start < 127 ? top - start + 1 : 128; k-- > 0;) {
      if (codes[k] != lookedUpCode(table, start + k)) {
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

/// ``calib_bf16_float8_scales`` with the lookup, 64 magnitudes at a time: looked up where
/// all 64 are within the table's range, computed otherwise.
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) static void lookedUpScales(
  const uint16_t *magnitudes, size_t count, const calib_symmetric_scale_params *params,
  const calib_float8_scale_table *table, uint8_t *float8Scales
) {
  calib_symmetric_scale_params plain = *params;
  plain.streams = 0;
  const __m512i codesLow = _mm512_loadu_si512(table->codes), codesHigh = _mm512_loadu_si512(table->codes + 64);
  const __m512i lowest = _mm512_set1_epi16((short)table->lowest), highest = _mm512_set1_epi16((short)table->highest);
  const __m512i base = _mm512_set1_epi8((char)table->base), binadeBits = _mm512_set1_epi8((char)0xF8);
  // Byte k of a pair of vectors is byte 2k: the low bytes of 64 16-bit lanes.
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
      // The byte permute reads seven index bits: the low byte is the mantissa.
      __m512i mantissas = _mm512_permutex2var_epi8(a, lowBytes, b);
      __m512i binades = _mm512_permutex2var_epi8(_mm512_srli_epi16(a, 7), lowBytes, _mm512_srli_epi16(b, 7));
      // 8 · (binade - base) per byte: a 16-bit shift whose bits from the next byte are masked off.
      __m512i steps = _mm512_and_si512(_mm512_slli_epi16(_mm512_sub_epi8(binades, base), 3), binadeBits);
      codes = _mm512_add_epi8(_mm512_permutex2var_epi8(codesLow, mantissas, codesHigh), steps);
    } else {
      uint8_t computed[64];
      calib_bf16_magnitude_scales(16, magnitudes + i, 64, &plain, NULL, computed);
      codes = _mm512_loadu_si512(computed);
    }
    if (streams) {
      calib_line_stream_put(&stream, i / 64, _mm512_castsi512_ps(codes));
    } else {
      _mm512_storeu_si512(float8Scales + i, codes);
    }
  }
  if (streams) calib_line_stream_finish(&stream, count / 64);
  if (i < count) calib_bf16_magnitude_scales(16, magnitudes + i, count - i, &plain, NULL, float8Scales + i);
}

void calib_bf16_float8_scales(
  int width, const uint16_t *magnitudes, size_t count, const calib_symmetric_scale_params *params,
  const calib_float8_scale_table *table, uint8_t *float8_scales
) {
  if (table && width == 16 && calib_float8_scale_lookup_available()) {
    lookedUpScales(magnitudes, count, params, table, float8_scales);
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

void calib_bf16_float8_scales(
  int width, const uint16_t *magnitudes, size_t count, const calib_symmetric_scale_params *params,
  const calib_float8_scale_table *table, uint8_t *float8_scales
) {
  (void)table;
  calib_bf16_magnitude_scales(width, magnitudes, count, params, NULL, float8_scales);
}

#endif
