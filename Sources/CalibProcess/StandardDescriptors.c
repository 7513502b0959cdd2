#include "CalibProcess.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static int closedDescriptors = 0;

__attribute__((constructor)) static void reserveStandardDescriptors(void) {
  for (int fd = 0; fd <= 2; fd++) {
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    // open takes the lowest free descriptor: `fd`, since those below it are open by now.
    int null = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
    if (null != fd && null >= 0) {
      dup2(null, fd);
      close(null);
    }
    closedDescriptors |= 1 << fd;
  }
}

int calib_closed_standard_descriptors(void) { return closedDescriptors; }
