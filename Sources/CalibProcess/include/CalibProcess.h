#ifndef CALIB_PROCESS_H
#define CALIB_PROCESS_H

/// Which of the standard descriptors 0, 1 and 2 were closed when the process started (bit
/// `fd` set for each), before a constructor opened /dev/null on them.
///
/// Without that, the first descriptor the process opens takes the lowest free number:
/// libdispatch's eventfd, the payload file or the database would become "stdout", and
/// output meant for the terminal would be written into it. The constructor runs before
/// `main`, and so before the Swift runtime or libdispatch open anything.
int calib_closed_standard_descriptors(void);

#endif
