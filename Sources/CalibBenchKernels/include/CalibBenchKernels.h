#ifndef CALIB_BENCH_KERNELS_H
#define CALIB_BENCH_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Reads `count` 64-bit words front to back as fast as this CPU allows and returns them
/// folded by XOR: `calib-bench`'s bandwidth baseline. It uses the widest loads the CPU
/// has (512-bit with AVX-512F, 256-bit with AVX2, the portable loop otherwise), four
/// independent accumulators, and the same 16 KiB software prefetch as CalibKernels'
/// range kernels, so that no observer kernel reads a buffer faster than this does.
uint64_t calib_bench_stream_read(const uint64_t *words, size_t count);

/// Writes `value` to `count` 64-bit words front to back around the cache, with the widest
/// streaming stores the CPU has (whole lines from the first line boundary, plain stores
/// at the ends), as the observer kernels write large outputs: `calib-bench`'s baseline
/// for writing an observer's scales.
void calib_bench_stream_write(uint64_t *words, size_t count, uint64_t value);

#endif
