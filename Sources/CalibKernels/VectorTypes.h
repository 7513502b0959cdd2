#ifndef CALIB_VECTOR_TYPES_H
#define CALIB_VECTOR_TYPES_H

// The vector types the width-generic kernel bodies (MSETermsBody.h, TorchPowBody.h) are
// instantiated with: float, uint32 and int32 lanes, 16 (AVX-512) or 8 (AVX2), loaded and
// stored unaligned.
typedef float f32x16 __attribute__((vector_size(64), aligned(4)));
typedef unsigned u32x16 __attribute__((vector_size(64), aligned(4)));
typedef int i32x16 __attribute__((vector_size(64), aligned(4)));
typedef float f32x8 __attribute__((vector_size(32), aligned(4)));
typedef unsigned u32x8 __attribute__((vector_size(32), aligned(4)));
typedef int i32x8 __attribute__((vector_size(32), aligned(4)));

#endif
