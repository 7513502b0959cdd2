#ifndef CALIB_KERNELS_H
#define CALIB_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Kernels that use instructions beyond the x86-64 baseline (AVX2, AVX-512), chosen at run
/// time. Swift compiles for one target CPU and has no per-function target attribute, so
/// the wide versions of the hottest loops live here, behind a dispatch on the CPU.
///
/// Every kernel performs exactly the IEEE operations, in exactly the order, of the Swift
/// code it stands in for (no contraction into fused multiply-adds, except where that code
/// fuses explicitly: torch's own power and `FastPower`'s polynomials), so results are the
/// same bits whichever version runs.

/// The clamp bounds and power of ``calib_mse_terms``: see `IntegerQDQ` and `TorchPower` in
/// CalibCore for what each field means.
typedef struct {
  float lower;
  float upper;
  /// Nonzero: the zero point is 0 and is not added (`SymmetricIntegerQDQ`).
  int symmetric;
  /// How a difference d is raised: 2 → `d · d`, 3 → `(d · d) · d`, 0 → torch's
  /// `pow(d, norm)` (``calib_torch_powf``), 1 → `FastPower` with the fields below.
  int exponent;
  float norm;
  float high, low, floor, ceiling;
  float l0, l1, l2, l3;
  float x0, x1, x2, x3, x4, x5, x6;
} calib_mse_terms_params;

/// The widest vector kernel this CPU runs: 16 (AVX-512F with AVX-512BW), 8 (AVX2 with FMA
/// and F16C), or 0 (none; callers keep their portable code).
///
/// The kernels below that take a `width` run on vectors of that many lanes, 16 or 8, at
/// most this; they give the same results at either.
int calib_kernels_width(void);

/// torch's float32 `pow(x, y)` on CPU (`Vectorized<float>::pow`, which is SLEEF's 1-ulp
/// `powf`), bit for bit, for x ≥ 0 and finite y > 0. Not correctly rounded: it differs from
/// a correctly rounded power (and from glibc's `powf`) by one ulp on a few percent of
/// inputs at y = 2.4.
float calib_torch_powf(float x, float y);

/// `out[i] = calib_torch_powf(x[i], y)` for i < n, on vectors of `width` lanes (16, 8, or
/// anything else for one at a time), at most ``calib_kernels_width()``.
void calib_torch_pow(int width, const float *x, float *out, size_t n, float y);

/// For each step i < steps and element j < count:
/// `terms[i * count + j] = |QDQ_i(x[j]) - x[j]| ^ norm` in float32, with step i's scale
/// `scales[i]` and zero point `zeros[i]`, on vectors of `width` lanes: 16 or 8, at most
/// ``calib_kernels_width()``. `terms` must have room for `steps · count + 16` floats: the
/// last vector is stored whole.
void calib_mse_terms(
  int width, const float *x, size_t count, size_t steps, const float *scales, const float *zeros,
  const calib_mse_terms_params *params, float *terms);

/// The integer QDQ and power of ``calib_f16_mse_terms``: see `IntegerQDQ` and `PowerTable`
/// in CalibCore.
typedef struct {
  /// The clamp bounds, f16 values.
  float lower;
  float upper;
  /// Nonzero: the zero point is 0 and is not added (`SymmetricIntegerQDQ`).
  int symmetric;
  /// How a difference d is raised: 2 → `r(d · d)`, 3 → `r((d · d) · d)`, 0 → `table[k]`,
  /// k being d's f16 bits, at most 0x7C00 (+∞; a NaN's index too).
  int exponent;
  const float *table;
} calib_f16_mse_terms_params;

/// ``calib_mse_terms`` for f16 values and scales (held as float32), AVX-512 only: every
/// operation of `IntegerQDQ` / `SymmetricIntegerQDQ` with `Float16Lanes` and
/// `MSEGridSearch.difference` in the same order, each result rounded to f16 (`r`) by the
/// CPU's own conversion (`vcvtps2ph`, nearest even, ±∞ from 65520 up, f16 subnormals;
/// a NaN lane kept as it is), so the terms are the portable lanes' bits. `terms` must have
/// room for `steps · count + 16` floats.
void calib_f16_mse_terms(
  const float *x, size_t count, size_t steps, const float *scales, const float *zeros,
  const calib_f16_mse_terms_params *params, float *terms);

/// `out[i]` := `x[i]` rounded to f16 as ``calib_f16_mse_terms`` rounds, for i < n (a
/// multiple of 16). AVX-512 only.
void calib_f16_rounded(const float *x, size_t n, float *out);

/// The float32 sum of the terms of `64 · rows` keys (1 ≤ rows < 16), in torch's order
/// for a bf16 tensor of that length (see `SharedTableStep.Lookup.rowSum` in CalibCore).
/// The term of key `k` is the bf16 whose bits are `table[k - first]`. AVX-512 only
/// (``calib_kernels_width()`` 16); AVX2 machines keep the Swift loop.
float calib_bf16_table_row_sum(const uint16_t *table, long first, const uint16_t *keys, size_t rows);

/// `totals[i]` := the float32 sum of `terms[i · 32 · rows ..< (i + 1) · 32 · rows]` in
/// torch's order for a float32 tensor of that length (`TorchSum` in CalibCore), for
/// i < steps. With 1 ≤ rows < 16 the sum never cascades (`TorchSum.rowsWithoutCascade`):
/// load `4r + k` of eight terms is added to accumulator k from zero, the four accumulators
/// in order, then the eight lanes in order from zero. AVX2 (``calib_kernels_width()`` 8 or
/// 16).
void calib_float32_rows_totals(const float *terms, size_t rows, size_t steps, float *totals);

/// The minima and maxima of runs of 16 floats, run q at `x + q · stride` for q < count (a
/// multiple of 16), reduced with the tree and operand order of CalibCore's
/// `RangeReduction.runsOf16`, so that zeros keep the same signs; `sum` (8 floats) gets
/// each run's two halves added in order, as that function's finiteness witness; `*low`
/// and `*high` the lowest minimum and highest maximum (meaningful only when every run is
/// finite; a zero's sign there is the lanes'). AVX-512 only.
void calib_range_runs16(
  const float *x, size_t count, size_t stride, float *mins, float *maxs, float *sum, float *low, float *high);

/// CalibCore's `RangeReduction.fastRun` on one run of `n` ≥ 32 floats, operation for
/// operation on eight-lane vectors: the minimum and maximum (NaN elements skipped, zeros
/// signed as the Swift loop signs them) into `low` and `high`, and the eight lanes of its
/// finiteness witness into `sum`, for the caller to add as it adds its own. AVX2 and up
/// (``calib_kernels_width()`` at least 8).
void calib_range_run(const float *p, size_t n, float *low, float *high, float *sum);

/// The minimum and maximum of runs of `length` bf16 values, or f16 values when `float16`
/// is nonzero (a multiple of 16), run q at `bits + q · stride` for q < count (a multiple
/// of `width`), as float32, from the order of their keys (CalibCore's `BFloat16Order`, the
/// same for both formats), and the lowest minimum and highest maximum to `*low` and
/// `*high`. Returns 0, with every slot written but some not to be used, when a run holds
/// a NaN or has a zero at an end: the float reduction decides those.
int calib_half_key_runs(
  int width, const uint16_t *bits, size_t count, size_t stride, size_t length, int float16, float *mins,
  float *maxs, float *low, float *high);

/// The smallest and largest key (CalibCore's `BFloat16Order`) of `count` bf16 or f16 values;
/// (INT16_MAX, INT16_MIN) when `count` is 0.
void calib_bf16_key_range(int width, const uint16_t *bits, size_t count, int16_t *low, int16_t *high);

/// The largest magnitude `max |x|` of each group of 16 contiguous floats, group q at
/// `x + 16 q` for q < count (a multiple of `width`), into `out[q]`, and the largest of
/// them into `*largest`. Returns 0 when a group holds a NaN or an infinity (every slot is
/// still written). Exact: the magnitudes' bits are compared as integers. With `streams`
/// nonzero the AVX-512 kernel writes `out` around the cache (CalibCore's
/// `QParamKernel.streamedOutputs` decides, as for the scales); AVX2 ignores it.
int calib_group_magnitudes16(int width, const float *x, size_t count, float *out, float *largest, int streams);

/// ``calib_group_magnitudes16`` of bf16 values, the magnitudes as bf16 bits.
int calib_bf16_group_magnitudes16(
  int width, const uint16_t *bits, size_t count, uint16_t *out, uint16_t *largest, int streams);

/// The fields of ``calib_symmetric_scales``: see `QParamKernel` in CalibCore.
typedef struct {
  float half_width;
  /// Nonzero: the ranges are bf16, and so is the quotient (rounded to nearest even).
  int bfloat16;
  /// Nonzero: the ranges are f16, and so is the quotient (rounded to nearest even, to ±∞
  /// from 65520 up, and on the subnormal grid below 2⁻¹⁴).
  int float16;
  /// Nonzero: the scale is multiplied by `global_scale` (NVFP4).
  int has_global_scale;
  float global_scale;
  /// Nonzero: the scale is rounded to FP8 E4M3FN (clamped to ±448 first).
  int float8;
  /// A scale of 0 becomes this.
  float epsilon;
  /// Nonzero: write the scales with streaming stores, around the cache.
  /// For outputs larger than a core's L2, whichever share of them one call writes.
  int streams;
} calib_symmetric_scale_params;

/// Symmetric `calculate_qparams` of `count` (a multiple of `width`) min/max pairs, as
/// CalibCore's `QParamKernel.scales(min:max:)` computes them lane for lane: `scales[i]`
/// from `mins[i]` and `maxs[i]`. The zero points are all 0 and not written.
///
/// With `scales` NULL the scales go to `float8_scales` as E4M3FN bits instead, which is
/// exact only when `params->float8` rounds them to that format first.
void calib_symmetric_scales(
  int width, const float *mins, const float *maxs, size_t count, const calib_symmetric_scale_params *params,
  float *scales, uint8_t *float8_scales);

/// ``calib_symmetric_scales`` of groups given by their largest magnitudes, `count` (a
/// multiple of `width`) non-negative finite bf16 values' bits: each magnitude m stands
/// for the range (-m, m), or any other range whose largest magnitude it is.
void calib_bf16_magnitude_scales(
  int width, const uint16_t *magnitudes, size_t count, const calib_symmetric_scale_params *params, float *scales,
  uint8_t *float8_scales);

/// Whether this CPU has what ``calib_half_float8_scales`` looks codes up with: AVX-512's
/// byte permutes (VBMI).
int calib_float8_scale_lookup_available(void);

/// E4M3FN scale codes of bf16 or f16 magnitudes by lookup (see Float8ScaleTable.c).
///
/// bf16: `codes[m]` is the code of the magnitude `base << 7 | m`, and a magnitude `bits`
/// in [`lowest`, `highest`] has the code `codes[bits & 0x7F] + 8 · ((bits >> 7) - base)`
/// (modulo 256). `thresholds` are all 8.
///
/// f16: with i = `(bits >> 3) & 0x7F` and l = `bits & 7`, a magnitude in range has the
/// code `codes[i] + (l >= thresholds[i]) + 8 · ((bits >> 10) - base)`: `codes[i]` is the
/// code of `base << 10 | i << 3`, and `thresholds[i]` (8: none) the first l at which the
/// code is one more.
///
/// Either way, exactly what the kernel (``calib_bf16_magnitude_scales``, or
/// ``calib_symmetric_scales`` of the widened f16 values) gives every magnitude in range.
typedef struct {
  uint8_t codes[128];
  uint8_t thresholds[128];
  uint16_t lowest;
  uint16_t highest;
  uint8_t base;
} calib_float8_scale_table;

/// The lookup of `params`' E4M3FN scale codes (`params->float8` nonzero) for magnitudes
/// up to `largest` (bf16 bits, or f16 bits when `params->float16` is nonzero; finite and
/// non-negative): the binade below `largest`'s gives the codes, and every magnitude from
/// `largest` down to the first whose code they do not predict is checked one by one; that
/// first miss bounds the range from below. Returns 0, with an empty range (`lowest` above
/// `highest`), where nothing can be looked up: a largest magnitude in the format's first
/// two binades (below 2⁻¹²⁵ for bf16, 2⁻¹³ for f16), one whose own scale is not predicted
/// (a global scale that clamps it), or a CPU without the lookup. E4M3FN's normal range
/// spans under 15 binades, so the range usually ends about 15 binades below the largest
/// magnitude: some 2,000 checks for bf16, 15,000 for f16, once per tensor.
int calib_float8_scale_table_build(
  const calib_symmetric_scale_params *params, uint16_t largest, calib_float8_scale_table *table);

/// The E4M3FN scale bytes (`params->float8` nonzero) of `count` magnitudes (a multiple
/// of 16), bf16 bits, or f16 bits when `params->float16` is nonzero (then `width` must be
/// 16): looked up in `table` (from ``calib_float8_scale_table_build`` with the same
/// `params`, or NULL) for each run of 64 magnitudes all in its range, on AVX-512 VBMI;
/// computed for the others, and everywhere else. The same bytes either way.
void calib_half_float8_scales(
  int width, const uint16_t *magnitudes, size_t count, const calib_symmetric_scale_params *params,
  const calib_float8_scale_table *table, uint8_t *float8_scales);

/// `count` f16 values (IEEE binary16 bits) widened to float32, exactly, NaN payloads kept
/// as they are (a signaling NaN stays signaling). AVX-512 only.
void calib_f16_widen(const uint16_t *bits, size_t count, float *out);

/// glibc only (elsewhere nothing): blocks from `mapped_from` bytes up are mapped and
/// unmapped one by one, smaller ones come from the heap, whose free top is returned to the
/// kernel once it passes `trimmed_from` bytes. See `HeapReuse` in CalibCore.
void calib_keep_freed_blocks(size_t mapped_from, size_t trimmed_from);

/// The offset of the first byte at or after `offset` in `fd`'s file that is not in a hole
/// (`lseek` with `SEEK_DATA`); -1 when there is none; `offset` itself where the system
/// cannot tell.
int64_t calib_next_data(int fd, int64_t offset);

/// Deallocates `length` bytes of `fd`'s file from `offset`, which then read as zeros, the
/// file's size unchanged (`fallocate` with `FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE` on
/// Linux, `F_PUNCHHOLE` on macOS). 0 on success, -1 with `errno` otherwise (`EOPNOTSUPP`
/// where neither exists).
int calib_punch_hole(int fd, int64_t offset, int64_t length);

/// Starts writing `length` bytes of `fd`'s file from `offset` to the disk and returns
/// without waiting for them (`sync_file_range` with `SYNC_FILE_RANGE_WRITE` on Linux; it
/// makes nothing durable, an `fdatasync` still must). 0 on success, -1 with `errno`
/// otherwise; 0 without doing anything on other systems.
int calib_start_writeback(int fd, int64_t offset, int64_t length);

/// One spin-wait hint (`pause` on x86-64, `yield` on arm64): a waiting loop calls it
/// between polls, which frees the core's shared resources and saves power.
void calib_spin_pause(void);

#endif
