#include "CalibKernels.h"

// Every operation stays a separate IEEE operation, rounded to f16 where the Swift lanes
// round, never fused.
#pragma STDC FP_CONTRACT OFF

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))

/// `half` where no lane is NaN: the terms kernel's values are finite (callers refuse
/// others) and so are its scales and zero points, and no step of the QDQ then makes a NaN
/// (a quotient or product may overflow to ±∞, which clamps or carries to |∞|, but nothing
/// subtracts ∞ from ∞ or multiplies it by 0), so the NaN blend would never choose.
AVX512 static inline __m512 finiteHalf(__m512 x) {
  return _mm512_cvtph_ps(_mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

/// `Float16Lanes.round`: nearest even on the f16 grid by the CPU's conversion and back
/// (both exact but for the rounding), NaN lanes kept as they are.
AVX512 static inline __m512 half(__m512 x) {
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), finiteHalf(x), x);
}

/// A clamped level y (|y| ≤ 2^15) rounded half to even by `roundscale`, exactly as the
/// lanes' (y + 1.5·2^23) - 1.5·2^23 (a -0 level where they have +0 vanishes in |q - x|).
AVX512 static inline __m512 roundedEven(__m512 y) {
  return _mm512_roundscale_ps(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

/// `clampLanes`: `y < lower ? lower : y`, then `> upper ? upper : …`; a NaN passes
/// (`maxps`/`minps` return their second operand when either is NaN).
AVX512 static inline __m512 clamped(__m512 y, __m512 lower, __m512 upper) {
  return _mm512_min_ps(upper, _mm512_max_ps(lower, y));
}

/// |QDQ(x) - x| of sixteen f16 values, each step rounded as the Swift lanes round.
AVX512 static inline __m512 difference(
  __m512 x, __m512 s, __m512 zp, __m512 lower, __m512 upper, int symmetric
) {
  __m512 q;
  if (symmetric) {
    __m512 level = roundedEven(clamped(finiteHalf(_mm512_div_ps(x, s)), lower, upper));
    q = finiteHalf(_mm512_mul_ps(level, s));
  } else {
    __m512 y = finiteHalf(_mm512_add_ps(finiteHalf(_mm512_div_ps(x, s)), zp));
    __m512 level = roundedEven(clamped(y, lower, upper));
    q = finiteHalf(_mm512_mul_ps(finiteHalf(_mm512_sub_ps(level, zp)), s));
  }
  __m512 d = finiteHalf(_mm512_sub_ps(q, x));
  return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(d), _mm512_set1_epi32(0x7FFFFFFF)));
}

/// d raised as `p->exponent` says.
AVX512 static inline __m512 raised(__m512 d, const calib_f16_mse_terms_params *p) {
  if (p->exponent == 2) return finiteHalf(_mm512_mul_ps(d, d));
  if (p->exponent == 3) return finiteHalf(_mm512_mul_ps(_mm512_mul_ps(d, d), d));
  // d is an f16 value ≥ 0 (or NaN): its f16 bits index the table, capped at +∞'s. Read
  // with sixteen scalar loads, which beat one `vgatherdps` on Zen 5 (0.24-0.26 s against
  // 0.25-0.29 s for `w_mse_int4_group128_f16`, as for the bf16 row sums); the indices
  // four to a 64-bit word, split with shifts (one extract each took 2 instructions).
  __m256i bits = _mm512_cvtps_ph(d, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256i index = _mm256_min_epu16(_mm256_and_si256(bits, _mm256_set1_epi16(0x7FFF)), _mm256_set1_epi16(0x7C00));
  uint64_t words[4] __attribute__((aligned(32)));
  _mm256_store_si256((__m256i *)words, index);
  float terms[16] __attribute__((aligned(64)));
  const float *table = p->table;
  for (int j = 0; j < 4; j++) {
    uint64_t four = words[j];
    terms[4 * j] = table[four & 0xFFFF];
    terms[4 * j + 1] = table[(four >> 16) & 0xFFFF];
    terms[4 * j + 2] = table[(four >> 32) & 0xFFFF];
    terms[4 * j + 3] = table[four >> 48];
  }
  return _mm512_load_ps(terms);
}

AVX512 void calib_f16_mse_terms(
  const float *x, size_t count, size_t steps, const float *scales, const float *zeros,
  const calib_f16_mse_terms_params *params, float *terms
) {
  const calib_f16_mse_terms_params p = *params;
  const __m512 lower = _mm512_set1_ps(p.lower), upper = _mm512_set1_ps(p.upper);
  for (size_t i = 0; i < steps; i++) {
    const __m512 s = _mm512_set1_ps(scales[i]), zp = _mm512_set1_ps(zeros[i]);
    float *out = terms + i * count;
    for (size_t j = 0; j < count; j += 16) {
      // The last vector may be partial: its missing lanes read as 0 and are stored into
      // the next step's room (or the slack), which that step then overwrites.
      __mmask16 lanes = count - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (count - j)) - 1);
      __m512 v = _mm512_maskz_loadu_ps(lanes, x + j);
      _mm512_storeu_ps(out + j, raised(difference(v, s, zp, lower, upper, p.symmetric), &p));
    }
  }
}

AVX512 void calib_f16_rounded(const float *x, size_t n, float *out) {
  for (size_t i = 0; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, half(_mm512_loadu_ps(x + i)));
}

#else

void calib_f16_mse_terms(
  const float *x, size_t count, size_t steps, const float *scales, const float *zeros,
  const calib_f16_mse_terms_params *params, float *terms
) {
  (void)x; (void)count; (void)steps; (void)scales; (void)zeros; (void)params; (void)terms;
  __builtin_trap();
}

void calib_f16_rounded(const float *x, size_t n, float *out) {
  (void)x; (void)n; (void)out;
  __builtin_trap();
}

#endif
