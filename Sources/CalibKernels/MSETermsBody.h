// The body of `calib_mse_terms` for one vector width, included once per width by
// MSETerms.c with these defined:
//   VF, VU, VI float, uint32 and int32 vectors of W lanes
//   W          lanes
//   TARGET     the target attribute string
//   NAME(x)    x suffixed with the width
//
// Each function mirrors, operation for operation, the Swift lanes it names; the power is
// TorchPowBody.h's, included first.

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

/// |d| raised as `p->exponent` says (see `calib_mse_terms_params`).
KERNEL VF NAME(raise)(VF d, const calib_mse_terms_params *p) {
  if (p->exponent == 2) return d * d;
  if (p->exponent == 3) return (d * d) * d;
  return NAME(torchPow)(d, NAME(powSplat)(p->norm));
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

/// |QDQ(x) - x| for a task's values, with its step's scale and zero point.
KERNEL VF NAME(taskDifference)(
  NAME(Task) task, const float *x, size_t full, VF tail, const float *scales, const float *zeros,
  const calib_mse_terms_params *p
) {
  return NAME(difference)(NAME(load)(x, full, tail, task.vector), NAME(splat)(scales[task.step]),
    NAME(splat)(zeros[task.step]), p);
}

/// See `calib_mse_terms`. Each task's terms are stored as a whole vector: a ragged last
/// vector's extra lanes land on the next step's first terms, which are stored after them
/// (or, for the last step, in the caller's slack).
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
  for (size_t k = 0; k < tasks; k++) {
    VF d = NAME(taskDifference)(a, x, full, tail, scales, zeros, p);
    NAME(store)(terms, a.out, NAME(raise)(d, p));
    NAME(advance)(&a, perStep, count);
  }
}

#undef KERNEL
