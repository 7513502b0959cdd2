// torch's float32 `pow(x, y)` on CPU for x ≥ 0, one vector width per inclusion (see
// TorchPow.c for the macros: VF, VI, W, TARGET_ATTRIBUTE, NAME).
//
// torch's `Vectorized<float>::pow` is SLEEF's `powf` with 1-ulp accuracy (`Sleef_powf16_u10`
// with AVX-512, `Sleef_powf8_u10` with AVX2). It is not correctly rounded, so a sum of
// |q - x| ^ 2.4 that ties or nearly ties between two grid steps breaks the tie as torch
// does only if every term has torch's bits. This is the same algorithm, operation for
// operation, with fused multiply-adds where SLEEF has them:
//
//   pow(x, y) = exp(y · log x), log and exp in double-float (pairs hi + lo of float32)
//   log x:  x = 2^e · m, m ∈ [0.75, 1.5) (AVX-512 getmant/getexp); a = (m - 1)/(m + 1),
//           log x = e·ln2 + 2a + a³·(c + a²·t(a²)), t a degree-2 polynomial
//   exp d:  q = rint(d / ln2), s = d - q·ln2 (two-part ln2), exp s = 1 + s + s²·u(s),
//           u degree-4; 2^q applied by ldexp in four partial factors; 0 below d = -104
//
// Only the special cases of x ≥ 0 and finite y > 0 are kept: x = 0 → 0, x = 1 → 1,
// x = +∞ → +∞ (also what an overflowing product becomes).

#define POW_KERNEL static inline TARGET_ATTRIBUTE __attribute__((always_inline))

typedef struct {
  VF x, y;
} NAME(Pair);

POW_KERNEL VF NAME(splat)(float c) {
  VF v;
  for (int k = 0; k < W; k++) v[k] = c;
  return v;
}

POW_KERNEL VI NAME(splatInt)(int c) {
  VI v;
  for (int k = 0; k < W; k++) v[k] = c;
  return v;
}

POW_KERNEL VF NAME(fma)(VF a, VF b, VF c) { return __builtin_elementwise_fma(a, b, c); }

/// `mask ? a : b` per lane, `mask` all ones or all zeros.
POW_KERNEL VF NAME(select)(VI mask, VF a, VF b) { return (VF)(((VI)a & mask) | ((VI)b & ~mask)); }
POW_KERNEL VI NAME(selectInt)(VI mask, VI a, VI b) { return (a & mask) | (b & ~mask); }

// MARK: Double-float arithmetic (SLEEF's df.h with FMA)

/// x + y, both floats.
POW_KERNEL NAME(Pair) NAME(add2)(VF x, VF y) {
  VF s = x + y, v = s - x;
  return (NAME(Pair)){s, (x - (s - v)) + (y - v)};
}

/// x + y, pairs, |x| ≥ |y|.
POW_KERNEL NAME(Pair) NAME(addPairs)(NAME(Pair) x, NAME(Pair) y) {
  VF s = x.x + y.x;
  return (NAME(Pair)){s, (((x.x - s) + y.x) + x.y) + y.y};
}

/// x + y, pairs, any magnitudes.
POW_KERNEL NAME(Pair) NAME(add2Pairs)(NAME(Pair) x, NAME(Pair) y) {
  VF s = x.x + y.x, v = s - x.x;
  VF t = (x.x - (s - v)) + (y.x - v);
  return (NAME(Pair)){s, t + (x.y + y.y)};
}

/// x + y, pair and float, any magnitudes.
POW_KERNEL NAME(Pair) NAME(add2PairFloat)(NAME(Pair) x, VF y) {
  VF s = x.x + y, v = s - x.x;
  VF t = (x.x - (s - v)) + (y - v);
  return (NAME(Pair)){s, t + x.y};
}

/// x + y, float and pair, |x| ≥ |y|.
POW_KERNEL NAME(Pair) NAME(addFloatPair)(VF x, NAME(Pair) y) {
  VF s = x + y.x;
  return (NAME(Pair)){s, ((x - s) + y.x) + y.y};
}

POW_KERNEL NAME(Pair) NAME(normalize)(NAME(Pair) t) {
  VF s = t.x + t.y;
  return (NAME(Pair)){s, (t.x - s) + t.y};
}

POW_KERNEL NAME(Pair) NAME(mulPairFloat)(NAME(Pair) x, VF y) {
  VF s = x.x * y;
  return (NAME(Pair)){s, NAME(fma)(x.y, y, NAME(fma)(x.x, y, -s))};
}

POW_KERNEL NAME(Pair) NAME(mulPairs)(NAME(Pair) x, NAME(Pair) y) {
  VF s = x.x * y.x;
  return (NAME(Pair)){s, NAME(fma)(x.x, y.y, NAME(fma)(x.y, y.x, NAME(fma)(x.x, y.x, -s)))};
}

POW_KERNEL NAME(Pair) NAME(square)(NAME(Pair) x) {
  VF s = x.x * x.x;
  return (NAME(Pair)){s, NAME(fma)(x.x + x.x, x.y, NAME(fma)(x.x, x.x, -s))};
}

POW_KERNEL NAME(Pair) NAME(divide)(NAME(Pair) n, NAME(Pair) d) {
  VF one = NAME(splat)(1.0f);
  VF t = one / d.x;
  VF s = n.x * t;
  VF u = NAME(fma)(t, n.x, -s);
  VF v = NAME(fma)(-d.y, t, NAME(fma)(-d.x, t, one));
  return (NAME(Pair)){s, NAME(fma)(s, v, NAME(fma)(n.y, t, u))};
}

// MARK: log and exp

/// The exponent of each lane as getexp gives it, subnormals included: ⌊log2 v⌋ for
/// finite v > 0, 128 for +∞.
POW_KERNEL VI NAME(exponent)(VF v) {
  VI small = (VI)(v < NAME(splat)(0x1p-126f));
  VF scaled = NAME(select)(small, v * NAME(splat)(0x1p64f), v);
  VI e = (((VI)scaled >> 23) & NAME(splatInt)(0xFF)) - NAME(splatInt)(127);
  return e - (small & NAME(splatInt)(64));
}

/// The significand of each finite lane v > 0 in [0.75, 1.5), as getmant with
/// `_MM_MANT_NORM_p75_1p5` gives it, subnormals included.
POW_KERNEL VF NAME(significand)(VF v) {
  VI small = (VI)(v < NAME(splat)(0x1p-126f));
  VI bits = (VI)NAME(select)(small, v * NAME(splat)(0x1p64f), v);
  VI fraction = bits & NAME(splatInt)(0x7FFFFF);
  VI high = (VI)(fraction >= NAME(splatInt)(0x400000));
  return (VF)(fraction | NAME(selectInt)(high, NAME(splatInt)(126 << 23), NAME(splatInt)(127 << 23)));
}

/// log d as a pair, for finite d > 0 (SLEEF's `logkf`).
POW_KERNEL NAME(Pair) NAME(logPair)(VF d) {
  VF e = __builtin_convertvector(NAME(exponent)(d * NAME(splat)(1.0f / 0.75f)), VF);
  VF m = NAME(significand)(d);
  NAME(Pair) a = NAME(divide)(NAME(add2)(NAME(splat)(-1.0f), m), NAME(add2)(NAME(splat)(1.0f), m));
  NAME(Pair) a2 = NAME(square)(a);
  VF t = NAME(splat)(0.240320354700088500976562f);
  t = NAME(fma)(t, a2.x, NAME(splat)(0.285112679004669189453125f));
  t = NAME(fma)(t, a2.x, NAME(splat)(0.400007992982864379882812f));
  NAME(Pair) c = {NAME(splat)(0.66666662693023681640625f), NAME(splat)(3.69183861259614332084311e-09f)};
  NAME(Pair) ln2 = {NAME(splat)(0.69314718246459960938f), NAME(splat)(-1.904654323148236017e-09f)};
  NAME(Pair) s = NAME(mulPairFloat)(ln2, e);
  s = NAME(addPairs)(s, (NAME(Pair)){a.x * NAME(splat)(2.0f), a.y * NAME(splat)(2.0f)});
  return NAME(addPairs)(s, NAME(mulPairs)(NAME(mulPairs)(a2, a), NAME(add2Pairs)(NAME(mulPairFloat)(a2, t), c)));
}

/// x · 2^q for integer q in any range SLEEF's `vldexp_vf_vf_vi2` takes: four factors of
/// 2^(q/4 rounded toward -∞ by 16s, clamped to the exponent field), then the remainder.
POW_KERNEL VF NAME(ldexp)(VF x, VI q) {
  VI m = q >> 31;
  m = (((m + q) >> 6) - m) << 4;
  q = q - (m << 2);
  m = m + NAME(splatInt)(0x7F);
  m = (VI)(m > NAME(splatInt)(0)) & m;
  VI over = (VI)(m > NAME(splatInt)(0xFF));
  m = NAME(selectInt)(over, NAME(splatInt)(0xFF), m);
  VF u = (VF)(m << 23);
  x = x * u * u * u * u;
  return x * (VF)((q + NAME(splatInt)(0x7F)) << 23);
}

/// exp(d.x + d.y) (SLEEF's `expkf`).
POW_KERNEL VF NAME(expPair)(NAME(Pair) d) {
  VF u = (d.x + d.y) * NAME(splat)(1.442695040888963407359924681001892137426645954152985934135449406931f);
  VI q = __builtin_convertvector(__builtin_elementwise_roundeven(u), VI);
  VF qf = __builtin_convertvector(q, VF);
  NAME(Pair) s = NAME(add2PairFloat)(d, qf * NAME(splat)(-0.693145751953125f));
  s = NAME(add2PairFloat)(s, qf * NAME(splat)(-1.428606765330187045e-06f));
  s = NAME(normalize)(s);
  u = NAME(splat)(0.00136324646882712841033936f);
  u = NAME(fma)(u, s.x, NAME(splat)(0.00836596917361021041870117f));
  u = NAME(fma)(u, s.x, NAME(splat)(0.0416710823774337768554688f));
  u = NAME(fma)(u, s.x, NAME(splat)(0.166665524244308471679688f));
  u = NAME(fma)(u, s.x, NAME(splat)(0.499999850988388061523438f));
  NAME(Pair) t = NAME(addPairs)(s, NAME(mulPairFloat)(NAME(square)(s), u));
  t = NAME(addFloatPair)(NAME(splat)(1.0f), t);
  u = NAME(ldexp)(t.x + t.y, q);
  VI under = (VI)(d.x < NAME(splat)(-104.0f));
  return (VF)((VI)u & ~under);
}

/// torch's `pow(x, y)` per lane for x ≥ 0 (or NaN) and finite y > 0 that is not 0.5, 1,
/// 2 or 3 (torch computes those differently: sqrt, copy, x·x, x·x·x).
POW_KERNEL VF NAME(torchPow)(VF x, VF y) {
  VF r = NAME(expPair)(NAME(mulPairFloat)(NAME(logPair)(x), y));
  r = NAME(select)((VI)(r != r), NAME(splat)(__builtin_inff()), r);
  r = NAME(select)((VI)(x == NAME(splat)(__builtin_inff())), x, r);
  r = NAME(select)((VI)(x == NAME(splat)(0.0f)), NAME(splat)(0.0f), r);
  r = NAME(select)((VI)(x != x), x, r);
  return NAME(select)((VI)(x == NAME(splat)(1.0f)), NAME(splat)(1.0f), r);
}

/// `out[i] = torchPow(x[i], y)` for i < n: whole vectors, then the rest one lane at a time
/// (``calib_torch_powf``, the same algorithm).
static TARGET_ATTRIBUTE __attribute__((unused)) void NAME(torchPowArray)(const float *x, float *out, size_t n, float y) {
  VF vy = NAME(splat)(y);
  size_t i = 0;
  for (; i + W <= n; i += W) {
    VF v;
    __builtin_memcpy(&v, x + i, sizeof v);
    v = NAME(torchPow)(v, vy);
    __builtin_memcpy(out + i, &v, sizeof v);
  }
  for (; i < n; i++) out[i] = calib_torch_powf(x[i], y);
}

#undef POW_KERNEL
