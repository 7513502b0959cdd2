#include "CalibKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

void calib_spin_pause(void) {
#if defined(__x86_64__)
  _mm_pause();
#elif defined(__aarch64__)
  __asm__ volatile("yield");
#endif
}
