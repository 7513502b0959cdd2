// The body of `calib_symmetric_scales` and `calib_bf16_magnitude_scales` for one vector
// width, included once per width by SymmetricScales.c with these defined:
//   VF, VU      float and uint32 vectors of W lanes; VH the W bf16 magnitudes' vector, VB
//               the W E4M3FN scales' bytes
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

/// The loop of both entry points (`magnitudes` NULL: ranges; `mins` and `maxs` NULL: bf16
/// magnitudes), specialized for each where it is inlined. The scales go to `scales` as
/// float32, or to `float8Scales` as E4M3FN bits when `scales` is NULL. The zero points
/// are all 0 and not written: callers hold them as one repeated value.
SCALES_KERNEL void NAME(scales)(
  const float *mins, const float *maxs, const uint16_t *magnitudes, size_t count,
  const calib_symmetric_scale_params *params, float *scales, uint8_t *float8Scales
) {
  const calib_symmetric_scale_params p = *params;
  const VF zero = NAME(splat)(0.0f), epsilon = NAME(splat)(p.epsilon), nan = NAME(splat)(__builtin_nanf(""));
  // Outputs larger than a core's L2 go around the cache (NVFP4's 1M float32 scales: 4 MiB
  // that would otherwise be read for ownership, then evict the input that the next pass
  // reads); E4M3FN scales too, four vectors' bytes to a line.
  const int streams = p.streams;
  STREAM scaleStream = STREAM_START(scales);
  // E4M3FN bytes stream where they start on a float's alignment (LineStream.h's unit).
  const int byteStreams = streams && float8Scales && ((uintptr_t)float8Scales & 3) == 0;
  STREAM byteStream = STREAM_START((float *)float8Scales);
  union {
    VB bytes[4];
    VF whole;
  } quad;
  for (size_t i = 0; i + W <= count; i += W) {
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
      VF mn = NAME(choose)((VU)(lo > 0.0f), lo, zero);
      VF mx = NAME(choose)((VU)(hi < 0.0f), hi, zero);
      VF a = (VF)((VU)mn & 0x7FFFFFFFu), b = (VF)((VU)mx & 0x7FFFFFFFu);
      amax = NAME(choose)((VU)(b > a), a, b);
      amax = NAME(choose)(NAME(isNaN)(mn) | NAME(isNaN)(mx), amax, nan);
    }
    VF s = amax / p.half_width;
    if (p.bfloat16) s = NAME(bfloat16Rounded)(s);
    if (p.has_global_scale) s = p.global_scale * s;
    if (p.float8) s = NAME(float8Rounded)(s);
    s = NAME(choose)((VU)(s == 0.0f), s, epsilon);
    if (!scales) {
      // Four vectors' bytes make one float vector's: stored (or streamed) whole.
      quad.bytes[(i / W) % 4] = __builtin_convertvector(NAME(float8Bits)(s), VB);
      if ((i / W) % 4 == 3) {
        if (byteStreams) {
          STREAM_PUT(&byteStream, i / (4 * W), quad.whole);
        } else {
          __builtin_memcpy(float8Scales + i - 3 * W, &quad, sizeof quad);
        }
      }
    } else if (streams) {
      STREAM_PUT(&scaleStream, i / W, s);
    } else {
      __builtin_memcpy(scales + i, &s, sizeof s);
    }
  }
  // The last one to three vectors' bytes, short of a whole float vector.
  size_t done = count / W / 4 * 4 * W;
  if (!scales) __builtin_memcpy(float8Scales + done, &quad, count - done);
  if (byteStreams) STREAM_FINISH(&byteStream, count / W / 4);
  if (streams && scales) STREAM_FINISH(&scaleStream, count / W);
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
#undef W
#undef TARGET
#undef NAME
#undef STREAM
#undef STREAM_START
#undef STREAM_PUT
#undef STREAM_FINISH
