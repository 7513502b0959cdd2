// The body of `calib_symmetric_scales` and `calib_bf16_magnitude_scales` for one vector
// width, included once per width by SymmetricScales.c with these defined:
//   VF, VU      float and uint32 vectors of W lanes; VH the W bf16 magnitudes' vector, VB
//               the W E4M3FN scales' bytes, VQ four times those (a float vector's)
//   PAIR_LANES  0, 1, … 2W - 1, and QUAD_LANES 0, 1, … 4W - 1: concatenations
//   W           lanes
//   TARGET      the target attribute string
//   NAME(x)     x suffixed with the width
//   STREAM      the streaming writer's type, with STREAM_START(base), STREAM_PUT(&s, j, v)
//               and STREAM_FINISH(&s, n) (LineStream.h)
// and undefines them at its end.
//
// Lane for lane the operations of CalibCore's `QParamKernel.scales(min:max:)`: every
// compare is explicit and every select a blend on its mask, so the widths agree with each
// other and with the Swift lanes bit for bit.

#define SCALES_KERNEL static inline __attribute__((target(TARGET), always_inline))

SCALES_KERNEL VF NAME(splat)(float c) {
  VF v;
  for (int k = 0; k < W; k++) v[k] = c;
  return v;
}

SCALES_KERNEL VU NAME(splatBits)(unsigned c) {
  VU v;
  for (int k = 0; k < W; k++) v[k] = c;
  return v;
}

/// `m ? b : a` per lane, `m` all ones or all zeros.
SCALES_KERNEL VF NAME(choose)(VU m, VF a, VF b) { return (VF)((m & (VU)b) | (~m & (VU)a)); }

SCALES_KERNEL VU NAME(isNaN)(VF x) { return (VU)(x != x); }

/// `BFloat16.rounded`: round to nearest even on the bits; NaN lanes kept as they are.
SCALES_KERNEL VF NAME(bfloat16Rounded)(VF x) {
  VU b = (VU)x;
  VU r = (b + 0x7FFFu + ((b >> 16) & 1u)) & 0xFFFF0000u;
  return NAME(choose)(NAME(isNaN)(x), (VF)r, x);
}

/// `BFloat16.halfRounded` (f16's grid as float32): round to nearest even on the bits from
/// 2⁻¹⁴ up, ±∞ from 65520 up, and below 2⁻¹⁴ the subnormal grid of step 2⁻²⁴, which
/// adding and subtracting 0.5 rounds to; NaN lanes kept as they are.
SCALES_KERNEL VF NAME(float16Rounded)(VF x) {
  VU bits = (VU)x;
  VU m = bits & 0x7FFFFFFFu;
  VU rounded = (m + 0x0FFFu + ((m >> 13) & 1u)) & ~0x1FFFu;
  VU normal = (VU)NAME(choose)((VU)(rounded > 0x477FE000u), (VF)rounded, (VF)NAME(splatBits)(0x7F800000u));
  VF small = ((VF)m + 0.5f) - 0.5f;
  VF snapped = NAME(choose)((VU)(m >= 0x38800000u), small, (VF)normal);
  return NAME(choose)((VU)(m > 0x7F800000u), (VF)((VU)snapped | (bits & 0x80000000u)), x);
}

/// `QParamKernel.roundedToFloat8`: clamp to ±448, then the normal and subnormal grids of
/// E4M3FN; NaN lanes kept (their clamped value is discarded at the end).
SCALES_KERNEL VF NAME(float8Rounded)(VF x) {
  VF c = NAME(choose)((VU)(x > 448.0f), x, NAME(splat)(448.0f));
  c = NAME(choose)((VU)(c < -448.0f), c, NAME(splat)(-448.0f));
  VU bits = (VU)c;
  VU sign = bits & 0x80000000u;
  VU m = bits & 0x7FFFFFFFu;
  VU normal = (m + 0x7FFFFu + ((m >> 20) & 1u)) & ~0xFFFFFu;
  VF magnitude = (VF)m;
  VF small = (magnitude + 0x1p14f) - 0x1p14f;
  VF snapped = NAME(choose)((VU)(magnitude >= 0x1p-6f), small, (VF)normal);
  return NAME(choose)(NAME(isNaN)(x), (VF)((VU)snapped | sign), x);
}

/// E4M3FN bits of scales that are already E4M3FN values (or NaN), each in the low byte
/// of its lane. Scaling |s| by 2⁻¹²⁰ (exact) moves its exponent from float32's bias to
/// E4M3FN's, so bits 20-26 of the product are the E4M3FN bits: a normal value's exponent
/// and top three mantissa bits, and below 2⁻⁶ a float32 subnormal whose bits are
/// |s| · 2²⁹, that is E4M3FN's subnormal m · 2⁻⁹ as m << 20. NaN gives 0x7F; the sign goes
/// on top.
SCALES_KERNEL VU NAME(float8Bits)(VF s) {
  VU bits = (VU)s;
  VU code = (VU)((VF)(bits & 0x7FFFFFFFu) * 0x1p-120f) >> 20;
  code = (VU)NAME(choose)(NAME(isNaN)(s), (VF)code, (VF)NAME(splatBits)(0x7Fu));
  return code | ((bits >> 24) & 0x80u);
}

/// The scales of the W groups from `i`, from their ranges (`magnitudes` NULL) or their
/// bf16 magnitudes (`mins` and `maxs` NULL).
SCALES_KERNEL VF NAME(scalesAt)(
  const float *mins, const float *maxs, const uint16_t *magnitudes, size_t i, const calib_symmetric_scale_params *p
) {
  VF amax;
  if (magnitudes) {
    // bf16 magnitudes widened to float32: exact, non-negative and finite.
    VH h;
    __builtin_memcpy(&h, magnitudes + i, sizeof h);
    amax = (VF)(__builtin_convertvector(h, VU) << 16);
  } else {
    VF lo, hi;
    __builtin_memcpy(&lo, mins + i, sizeof lo);
    __builtin_memcpy(&hi, maxs + i, sizeof hi);
    // min(lo, 0) and max(hi, 0); a NaN stays (its comparisons are false).
    VF zero = NAME(splat)(0.0f);
    VF mn = NAME(choose)((VU)(lo > 0.0f), lo, zero);
    VF mx = NAME(choose)((VU)(hi < 0.0f), hi, zero);
    VF a = (VF)((VU)mn & 0x7FFFFFFFu), b = (VF)((VU)mx & 0x7FFFFFFFu);
    amax = NAME(choose)((VU)(b > a), a, b);
    amax = NAME(choose)(NAME(isNaN)(mn) | NAME(isNaN)(mx), amax, NAME(splat)(__builtin_nanf("")));
  }
  VF s = amax / p->half_width;
  if (p->bfloat16) s = NAME(bfloat16Rounded)(s);
  if (p->float16) s = NAME(float16Rounded)(s);
  if (p->has_global_scale) s = p->global_scale * s;
  if (p->float8) s = NAME(float8Rounded)(s);
  return NAME(choose)((VU)(s == 0.0f), s, NAME(splat)(p->epsilon));
}

/// ``scalesAt``'s scales as their E4M3FN bytes (`p->float8` nonzero).
SCALES_KERNEL VB NAME(float8CodesAt)(
  const float *mins, const float *maxs, const uint16_t *magnitudes, size_t i, const calib_symmetric_scale_params *p
) {
  return __builtin_convertvector(NAME(float8Bits)(NAME(scalesAt)(mins, maxs, magnitudes, i, p)), VB);
}

/// The loop of both entry points (`magnitudes` NULL: ranges; `mins` and `maxs` NULL: bf16
/// magnitudes), specialized for each where it is inlined. The scales go to `scales` as
/// float32, or to `float8Scales` as E4M3FN bits when `scales` is NULL. The zero points
/// are all 0 and not written: callers hold them as one repeated value.
SCALES_KERNEL void NAME(scales)(
  const float *mins, const float *maxs, const uint16_t *magnitudes, size_t count,
  const calib_symmetric_scale_params *params, float *scales, uint8_t *float8Scales
) {
  const calib_symmetric_scale_params p = *params;
  // Outputs larger than a core's L2 go around the cache (NVFP4's 1M float32 scales: 4 MiB
  // that would otherwise be read for ownership, then evict the input that the next pass
  // reads); E4M3FN scales too, four vectors' bytes to a line.
  if (scales) {
    STREAM stream = STREAM_START(scales);
    for (size_t i = 0; i + W <= count; i += W) {
      VF s = NAME(scalesAt)(mins, maxs, magnitudes, i, &p);
      if (p.streams) {
        STREAM_PUT(&stream, i / W, s);
      } else {
        __builtin_memcpy(scales + i, &s, sizeof s);
      }
    }
    if (p.streams) STREAM_FINISH(&stream, count / W);
    return;
  }
  // Four vectors' bytes make one float vector's, put together in registers (storing them
  // a quarter at a time and loading the whole defeats store forwarding) and stored or
  // streamed whole; streamed where they start on a float's alignment (LineStream.h's
  // unit).
  const int streams = p.streams && ((uintptr_t)float8Scales & 3) == 0;
  STREAM stream = STREAM_START((float *)float8Scales);
  size_t i = 0;
  for (; i + 4 * W <= count; i += 4 * W) {
    VB b[4];
    for (int k = 0; k < 4; k++) b[k] = NAME(float8CodesAt)(mins, maxs, magnitudes, i + k * W, &p);
    VQ quad = __builtin_shufflevector(
      __builtin_shufflevector(b[0], b[1], PAIR_LANES), __builtin_shufflevector(b[2], b[3], PAIR_LANES), QUAD_LANES);
    if (streams) {
      STREAM_PUT(&stream, i / (4 * W), (VF)quad);
    } else {
      __builtin_memcpy(float8Scales + i, &quad, sizeof quad);
    }
  }
  if (streams) STREAM_FINISH(&stream, count / (4 * W));
  // The last one to three vectors, short of a whole float vector's bytes.
  for (; i + W <= count; i += W) {
    VB b = NAME(float8CodesAt)(mins, maxs, magnitudes, i, &p);
    __builtin_memcpy(float8Scales + i, &b, sizeof b);
  }
}

__attribute__((target(TARGET))) static void NAME(symmetricScales)(
  const float *mins, const float *maxs, size_t count, const calib_symmetric_scale_params *params, float *scales,
  uint8_t *float8Scales
) {
  NAME(scales)(mins, maxs, NULL, count, params, scales, float8Scales);
}

__attribute__((target(TARGET))) static void NAME(magnitudeScales)(
  const uint16_t *magnitudes, size_t count, const calib_symmetric_scale_params *params, float *scales,
  uint8_t *float8Scales
) {
  NAME(scales)(NULL, NULL, magnitudes, count, params, scales, float8Scales);
}

#undef SCALES_KERNEL
#undef VF
#undef VU
#undef VH
#undef VB
#undef VQ
#undef PAIR_LANES
#undef QUAD_LANES
#undef W
#undef TARGET
#undef NAME
#undef STREAM
#undef STREAM_START
#undef STREAM_PUT
#undef STREAM_FINISH
