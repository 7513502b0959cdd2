#ifndef CALIB_KERNELS_PREFETCH_H
#define CALIB_KERNELS_PREFETCH_H

#include <stddef.h>

/// How far ahead of their loads the range kernels (and the MSE row sums' key loads)
/// prefetch a contiguous input, in bytes.
/// The hardware prefetcher alone left them at about half the speed of a plain read;
/// 16 KiB measured best on a 32 MiB weight (8 KiB: 0.92 ms, 16 KiB: 0.7-0.95 ms, none:
/// 1.35 ms, one core).
static const size_t calib_prefetch_ahead = 16384;

#endif
