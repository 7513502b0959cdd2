#ifndef CALIB_PROCESS_H
#define CALIB_PROCESS_H

#include <stddef.h>

/// Which of the standard descriptors 0, 1 and 2 were closed when the process started (bit
/// `fd` set for each), before a constructor opened /dev/null on them.
///
/// Without that, the first descriptor the process opens takes the lowest free number:
/// libdispatch's eventfd, the payload file or the database would become "stdout", and
/// output meant for the terminal would be written into it. The constructor runs before
/// `main`, and so before the Swift runtime or libdispatch open anything.
int calib_closed_standard_descriptors(void);

/// Guards `length` bytes of a file mapping at `start` (page-aligned) against the file
/// shrinking under it: a read there that would raise SIGBUS (the page lies past the file's
/// new end, or the disk failed to read it) finds zeros instead, from that page to the end
/// of the range, and ``calib_unguard_mapping`` reports it. SIGBUS anywhere else goes to
/// the handler that was there before.
///
/// Returns the guard's slot, or -1 when all slots are taken (the caller then reads the
/// range instead of mapping it).
int calib_guard_mapping(void *start, size_t length);

/// Ends the guard of `slot` (before the range is unmapped); returns 1 when a read in the
/// range found zeros in place of the file's bytes, else 0.
int calib_unguard_mapping(int slot);

#endif
