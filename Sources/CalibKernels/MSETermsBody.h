// The body of `calib_mse_terms` for one vector width, included once per width by
// MSETerms.c with these defined:
//   VF, VU, VI float, uint32 and int32 vectors of W lanes
//   W          lanes
//   TARGET     the target attribute string
//   NAME(x)    x suffixed with the width
//
// Each function gives the results of the Swift lanes it names, bit for bit; where one
// instruction does what several of the lanes' operations do exactly (rounding to an
// integer, an exponent, a power of two), it takes their place. The power and `splat` are
// TorchPowBody.h's, included first.

#define KERNEL static inline __attribute__((target(TARGET), always_inline))

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

/// y rounded to an integer, ties to even, in one instruction: `(y + 1.5·2^23) - 1.5·2^23`,
/// as the lanes round, for every |y| ≤ 2^22. The only difference: a y in (-½, 0] gives -0
/// where the lanes give +0, which changes no term (a level's sign of zero vanishes in the
/// magnitude |q - x| and in |clamped - level|).
KERNEL VF NAME(roundedEven)(VF y) {
#if W == 16
  return (VF)_mm512_roundscale_ps((__m512)y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
#else
  return (VF)_mm256_round_ps((__m256)y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
#endif
}

/// A step's scale s and zero point zp, splat, and what lets ``difference`` multiply by
/// r = fl(1/s) instead of dividing by s.
///
/// Only the level `round(clamp(x / s [+ zp]))` depends on the quotient, and the level is
/// constant between half-integers. With r normal and finite, fl(x · r) is within
/// 2^-23 · |x / s| (plus subnormal rounding) of x / s, and fl(x / s) within 2^-24 of it;
/// adding zp rounds each by at most 2^-24 of the sum more. Where the clamped value lies
/// inside [lower, upper] (bounds of magnitude at most B), |x / s| ≤ B + |zp| + 1, so the
/// two clamped quotients differ by less than `tolerance` = 2^-18 · (2B + 2|zp| + 4), which
/// is 8 times that bound (over 2 · 10^8 values a few ulp from half-integers, random scales
/// and zero points, int4 and int8, the largest difference was 1/65 of it); outside, they
/// clamp to the same bound (clamping never moves two values apart). A lane whose clamped
/// product lies farther than `tolerance` from every half-integer therefore rounds to the
/// level the division gives; a vector with a lane closer is computed again by division,
/// as is every step whose r is not normal and finite (s subnormal, huge, zero, infinite
/// or NaN).
typedef struct {
  size_t step;
  VF s, zp, r;
  /// 0.5 - tolerance: a lane whose clamped value is at least this far from its level is
  /// undecided.
  VF undecided;
  int reciprocal;
} NAME(StepScale);

KERNEL void NAME(enterStep)(NAME(StepScale) *scale, size_t step, float s, float zp, const calib_mse_terms_params *p) {
  float r = 1.0f / s;
  float bound = __builtin_fmaxf(__builtin_fabsf(p->lower), __builtin_fabsf(p->upper));
  float tolerance = 0x1p-18f * (2.0f * bound + 2.0f * __builtin_fabsf(zp) + 4.0f);
  scale->step = step;
  scale->s = NAME(splat)(s);
  scale->zp = NAME(splat)(zp);
  scale->r = NAME(splat)(r);
  scale->undecided = NAME(splat)(0.5f - tolerance);
  // False for a NaN r, and for an infinite zero point's NaN tolerance.
  scale->reciprocal = r >= 0x1p-126f && r <= 0x1.fffffep127f && tolerance < 0.25f;
}

/// `round(clamp(y [+ zp]))` on integer levels for a quotient or product y: the zero point
/// added unless symmetric, `lowered(raised(·, lower), upper)`, then rounded half to even
/// (``roundedEven``; the bounds are at most 2^15); the clamped value in `clamped`.
KERNEL VF NAME(level)(VF y, const NAME(StepScale) *scale, const calib_mse_terms_params *p, VF *clamped) {
  VF shifted = p->symmetric ? y : y + scale->zp;
  *clamped = NAME(lowered)(NAME(raised)(shifted, NAME(splat)(p->lower)), NAME(splat)(p->upper));
  return NAME(roundedEven)(*clamped);
}

/// |QDQ(x) - x| for float32 values: `IntegerQDQ` / `SymmetricIntegerQDQ` with
/// `Float32Lanes`, then `MSEGridSearch.difference`; the level from x · r where that is
/// certain to give the quotient's (see ``StepScale``).
KERNEL VF NAME(difference)(VF x, const NAME(StepScale) *scale, const calib_mse_terms_params *p) {
  VF clamped, level;
  int divide = !scale->reciprocal;
  if (!divide) {
    level = NAME(level)(x * scale->r, scale, p, &clamped);
    VF distance = (VF)((VU)(clamped - level) & NAME(splatBits)(0x7FFFFFFFu));
    divide = __builtin_reduce_or((VU)(distance >= scale->undecided)) != 0;
  }
  if (divide) level = NAME(level)(x / scale->s, scale, p, &clamped);
  VF q = p->symmetric ? level * scale->s : (level - scale->zp) * scale->s;
  return (VF)((VU)(q - x) & NAME(splatBits)(0x7FFFFFFFu));
}

/// `FastPower.begin(d)`: d clamped to [floor, ceiling], its exponent e and
/// s = (m - 1) / (m + 1). With AVX-512, e is `getexp` of the shifted bits, which are a
/// positive normal float for every clamped d: the same E - 127 the lanes' 2^23 trick gives.
KERNEL void NAME(begin)(VF d, const calib_mse_terms_params *p, VF *e, VF *s) {
  VF v = NAME(lowered)(NAME(raised)(d, NAME(splat)(p->floor)), NAME(splat)(p->ceiling));
  VU shifted = (VU)v + NAME(splatBits)(0x004AFB0Du);
#if W == 16
  *e = (VF)_mm512_getexp_ps((__m512)shifted);
#else
  *e = (VF)((shifted >> 23) | NAME(splatBits)(0x4B000000u)) - NAME(splat)(8388735.0f);
#endif
  VF m = (VF)((shifted & NAME(splatBits)(0x007FFFFFu)) + NAME(splatBits)(0x3F3504F3u));
  VF t = m - NAME(splat)(1.0f);
  *s = t / (t + NAME(splat)(2.0f));
}

/// `FastPower.middle(e, s)`, with the rounded exponent n itself (|n| ≤ 310) where the lanes
/// keep n + 1.5·2^23: n and the fraction f.
KERNEL void NAME(middle)(VF e, VF s, const calib_mse_terms_params *p, VF *n, VF *f) {
  VF z = s * s;
  VF pLog = NAME(splat)(p->l3);
  pLog = NAME(fma)(pLog, z, NAME(splat)(p->l2));
  pLog = NAME(fma)(pLog, z, NAME(splat)(p->l1));
  pLog = NAME(fma)(pLog, z, NAME(splat)(p->l0));
  pLog = pLog * s;
  VF a = NAME(splat)(p->high) * e;
  VF b = NAME(fma)(NAME(splat)(p->low), e, pLog);
  *n = NAME(roundedEven)(a + b);
  *f = (a - *n) + b;
}

/// `FastPower.finish`: Q(f) · 2^n. With AVX-512 one `scalef`; the lanes' exponent-field
/// 2^n is the same power for the n of every clamped d (-126 ≤ n ≤ 125).
KERNEL VF NAME(finish)(VF n, VF f, const calib_mse_terms_params *p) {
  VF q = NAME(splat)(p->x6);
  q = NAME(fma)(q, f, NAME(splat)(p->x5));
  q = NAME(fma)(q, f, NAME(splat)(p->x4));
  q = NAME(fma)(q, f, NAME(splat)(p->x3));
  q = NAME(fma)(q, f, NAME(splat)(p->x2));
  q = NAME(fma)(q, f, NAME(splat)(p->x1));
  q = NAME(fma)(q, f, NAME(splat)(p->x0));
#if W == 16
  return (VF)_mm512_scalef_ps((__m512)q, (__m512)n);
#else
  VF scale = (VF)(((VU)_mm256_cvtps_epi32((__m256)n) + NAME(splatBits)(127u)) << 23);
  return q * scale;
#endif
}

/// |d| raised as `p->exponent` says (see `calib_mse_terms_params`).
KERNEL VF NAME(raise)(VF d, const calib_mse_terms_params *p) {
  if (p->exponent == 2) return d * d;
  if (p->exponent == 3) return (d * d) * d;
  if (p->exponent == 1) {
    VF e, s, n, f;
    NAME(begin)(d, p, &e, &s);
    NAME(middle)(e, s, p, &n, &f);
    return NAME(finish)(n, f, p);
  }
  return NAME(torchPow)(d, NAME(splat)(p->norm));
}

/// Where the (step, vector) tasks of a call stand: task k is vector `vector` of step
/// `step`, its values at `x + W · vector` (or the zero-padded `tail` for a ragged last
/// vector), its terms at `out`.
typedef struct {
  size_t step, vector, out;
} NAME(Task);

KERNEL VF NAME(load)(const float *x, size_t full, VF tail, size_t vector) {
  if (vector < full) {
    VF v;
    __builtin_memcpy(&v, x + W * vector, sizeof v);
    return v;
  }
  return tail;
}

KERNEL void NAME(advance)(NAME(Task) *task, size_t perStep, size_t count) {
  task->vector++;
  if (task->vector == perStep) {
    task->vector = 0;
    task->step++;
  }
  task->out = task->step * count + W * task->vector;
}

KERNEL void NAME(store)(float *terms, size_t out, VF t) { __builtin_memcpy(terms + out, &t, sizeof t); }

/// |QDQ(x) - x| for a task's values, with its step's scale and zero point (`scale`
/// entered anew when the task's step is not the one it holds).
KERNEL VF NAME(taskDifference)(
  NAME(Task) task, const float *x, size_t full, VF tail, const float *scales, const float *zeros,
  NAME(StepScale) *scale, const calib_mse_terms_params *p
) {
  if (task.step != scale->step) NAME(enterStep)(scale, task.step, scales[task.step], zeros[task.step], p);
  return NAME(difference)(NAME(load)(x, full, tail, task.vector), scale, p);
}

/// See `calib_mse_terms`. Each task's terms are stored as a whole vector: a ragged last
/// vector's extra lanes land on the next step's first terms, which are stored after them
/// (or, for the last step, in the caller's slack).
///
/// With a ``FastPower`` the loop is software-pipelined in four stages: iteration k takes
/// task k's difference, begins task k - 1, runs the middle stage of task k - 2 and
/// finishes task k - 3, so that four independent chains are in flight (one task's chain
/// is far longer than the core's scheduler overlaps by itself; three stages, the
/// difference and the beginning together, ran 8 % slower on Zen 4).
static __attribute__((target(TARGET))) void NAME(mseTerms)(
  const float *x, size_t count, size_t steps, const float *scales, const float *zeros,
  const calib_mse_terms_params *params, float *terms
) {
  // A local copy: stores to `terms` cannot change it, so its splats stay in registers.
  const calib_mse_terms_params local = *params;
  const calib_mse_terms_params *p = &local;
  size_t full = count / W, perStep = (count + W - 1) / W, tasks = steps * perStep;
  VF tail = NAME(splat)(0.0f);
  for (size_t k = 0; k < count - W * full; k++) tail[k] = x[W * full + k];
  NAME(Task) a = {0, 0, 0};
  // No step yet: the first task enters its own.
  NAME(StepScale) scale = {.step = (size_t)-1};
  if (p->exponent != 1 || tasks < 4) {
    for (size_t k = 0; k < tasks; k++) {
      VF d = NAME(taskDifference)(a, x, full, tail, scales, zeros, &scale, p);
      NAME(store)(terms, a.out, NAME(raise)(d, p));
      NAME(advance)(&a, perStep, count);
    }
    return;
  }
  // Each stage's input and where its task's terms go.
  VF d, e, s, n, f;
  size_t beginOut, middleOut, finishOut;
  // Fill: tasks 0, 1 and 2 through the stages they reach before iteration 3.
  d = NAME(taskDifference)(a, x, full, tail, scales, zeros, &scale, p);
  beginOut = a.out;
  NAME(advance)(&a, perStep, count);
  NAME(begin)(d, p, &e, &s);
  middleOut = beginOut;
  d = NAME(taskDifference)(a, x, full, tail, scales, zeros, &scale, p);
  beginOut = a.out;
  NAME(advance)(&a, perStep, count);
  NAME(middle)(e, s, p, &n, &f);
  finishOut = middleOut;
  NAME(begin)(d, p, &e, &s);
  middleOut = beginOut;
  d = NAME(taskDifference)(a, x, full, tail, scales, zeros, &scale, p);
  beginOut = a.out;
  NAME(advance)(&a, perStep, count);
  for (size_t k = 3; k < tasks; k++) {
    VF nextD, nextE, nextS, nextN, nextF;
    nextD = NAME(taskDifference)(a, x, full, tail, scales, zeros, &scale, p);
    NAME(begin)(d, p, &nextE, &nextS);
    NAME(middle)(e, s, p, &nextN, &nextF);
    NAME(store)(terms, finishOut, NAME(finish)(n, f, p));
    finishOut = middleOut;
    middleOut = beginOut;
    beginOut = a.out;
    NAME(advance)(&a, perStep, count);
    d = nextD; e = nextE; s = nextS; n = nextN; f = nextF;
  }
  // Drain: finish task tasks - 3, then tasks - 2, then tasks - 1.
  NAME(store)(terms, finishOut, NAME(finish)(n, f, p));
  NAME(middle)(e, s, p, &n, &f);
  NAME(begin)(d, p, &e, &s);
  NAME(store)(terms, middleOut, NAME(finish)(n, f, p));
  NAME(middle)(e, s, p, &n, &f);
  NAME(store)(terms, beginOut, NAME(finish)(n, f, p));
}

#undef KERNEL
