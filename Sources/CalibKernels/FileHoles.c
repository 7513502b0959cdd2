// fallocate and SEEK_DATA are GNU extensions, which Swift's Glibc module does not show.
#define _GNU_SOURCE
#include "CalibKernels.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int64_t calib_next_data(int fd, int64_t offset) {
#if defined(SEEK_DATA)
  off_t data = lseek(fd, (off_t)offset, SEEK_DATA);
  if (data >= 0) return (int64_t)data;
  return errno == ENXIO ? -1 : offset;
#else
  (void)fd;
  return offset;
#endif
}

int calib_punch_hole(int fd, int64_t offset, int64_t length) {
#if defined(__linux__)
  return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)length);
#elif defined(F_PUNCHHOLE)
  struct fpunchhole hole = {0, 0, (off_t)offset, (off_t)length};
  return fcntl(fd, F_PUNCHHOLE, &hole);
#else
  (void)fd; (void)offset; (void)length;
  errno = EOPNOTSUPP;
  return -1;
#endif
}
