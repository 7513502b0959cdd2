// The body of `calib_mse_terms` for one vector width, included once per width by
// MSETerms.c with these defined:
//   VF, VU     float and uint32 vectors of W lanes
//   W          lanes
//   TARGET     the target attribute string
//   NAME(x)    x suffixed with the width
//
// Each function mirrors, operation for operation, the Swift lanes it names.

#define KERNEL static inline __attribute__((target(TARGET), always_inline))

KERNEL VF NAME(splat)(float c) {
  VF v;
  for (int k = 0; k < W; k++) v[k] = c;
  return v;
}

KERNEL VU NAME(splatBits)(unsigned c) {
  VU v;
  for (int k = 0; k < W; k++) v[k] = c;
  return v;
}

/// `y < c ? c : y` per lane (maxps), as `clampLanes`' first half.
KERNEL VF NAME(raised)(VF y, VF c) {
  VU m = (VU)(y < c);
  return (VF)((m & (VU)c) | (~m & (VU)y));
}

/// `y > c ? c : y` per lane (minps), as `clampLanes`' second half.
KERNEL VF NAME(lowered)(VF y, VF c) {
  VU m = (VU)(y > c);
  return (VF)((m & (VU)c) | (~m & (VU)y));
}

/// |QDQ(x) - x| for float32 values: `IntegerQDQ` / `SymmetricIntegerQDQ` with
/// `Float32Lanes`, then `MSEGridSearch.difference`.
KERNEL VF NAME(difference)(VF x, VF s, VF zp, const calib_mse_terms_params *p) {
  VF magic = NAME(splat)(12582912.0f);
  VF lower = NAME(splat)(p->lower), upper = NAME(splat)(p->upper);
  VF q;
  if (p->symmetric) {
    VF level = (NAME(lowered)(NAME(raised)(x / s, lower), upper) + magic) - magic;
    q = level * s;
  } else {
    VF level = (NAME(lowered)(NAME(raised)(x / s + zp, lower), upper) + magic) - magic;
    q = (level - zp) * s;
  }
  return (VF)((VU)(q - x) & NAME(splatBits)(0x7FFFFFFFu));
}

/// `FastPower.finish(middle(begin(d)))`.
KERNEL VF NAME(fastPower)(VF d, const calib_mse_terms_params *p) {
  // begin
  VF v = NAME(raised)(d, NAME(splat)(p->floor));
  VU shifted = (VU)v + NAME(splatBits)(0x004AFB0Du);
  VF e = (VF)((shifted >> 23) | NAME(splatBits)(0x4B000000u)) - NAME(splat)(8388735.0f);
  VF m = (VF)((shifted & NAME(splatBits)(0x007FFFFFu)) + NAME(splatBits)(0x3F3504F3u));
  VF t = m - NAME(splat)(1.0f);
  VF s = t / (t + NAME(splat)(2.0f));
  // middle
  VF z = s * s;
  VF pLog = NAME(splat)(p->l3);
  pLog = pLog * z + NAME(splat)(p->l2);
  pLog = pLog * z + NAME(splat)(p->l1);
  pLog = pLog * z + NAME(splat)(p->l0);
  pLog = pLog * s;
  VF a = NAME(splat)(p->high) * e;
  VF b = NAME(splat)(p->low) * e + pLog;
  VF magic = NAME(splat)(12582912.0f);
  VF biased = (a + b) + magic;
  VF f = (a - (biased - magic)) + b;
  // finish
  VF q = NAME(splat)(p->x6);
  q = q * f + NAME(splat)(p->x5);
  q = q * f + NAME(splat)(p->x4);
  q = q * f + NAME(splat)(p->x3);
  q = q * f + NAME(splat)(p->x2);
  q = q * f + NAME(splat)(p->x1);
  q = q * f + NAME(splat)(p->x0);
  VF scale = (VF)(((VU)biased + NAME(splatBits)(127u)) << 23);
  return q * scale;
}

KERNEL VF NAME(term)(VF x, VF s, VF zp, const calib_mse_terms_params *p) {
  VF d = NAME(difference)(x, s, zp, p);
  return p->square ? d * d : NAME(fastPower)(d, p);
}

static __attribute__((target(TARGET))) void NAME(mseTerms)(
  const float *x, size_t count, size_t steps, const float *scales, const float *zeros,
  const calib_mse_terms_params *p, float *terms
) {
  size_t full = count / W * W;
  for (size_t i = 0; i < steps; i++) {
    VF s = NAME(splat)(scales[i]), zp = NAME(splat)(zeros[i]);
    float *out = terms + i * count;
    for (size_t j = 0; j < full; j += W) {
      VF v;
      __builtin_memcpy(&v, x + j, sizeof v);
      VF t = NAME(term)(v, s, zp, p);
      __builtin_memcpy(out + j, &t, sizeof t);
    }
    if (full < count) {
      // The ragged end, zero-padded to a vector; only its real lanes are stored.
      VF v = NAME(splat)(0.0f);
      for (size_t k = 0; k < count - full; k++) v[k] = x[full + k];
      VF t = NAME(term)(v, s, zp, p);
      for (size_t k = 0; k < count - full; k++) out[full + k] = t[k];
    }
  }
}

#undef KERNEL
