#include "CalibKernels.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

void calib_keep_freed_blocks(size_t mapped_from, size_t trimmed_from) {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, (int)mapped_from);
  mallopt(M_TRIM_THRESHOLD, (int)trimmed_from);
#else
  (void)mapped_from;
  (void)trimmed_from;
#endif
}
