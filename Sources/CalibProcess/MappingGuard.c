#include "CalibProcess.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

// Mapped tensors of step and weight files: a file that another process truncates (a dump
// script rewriting it in place) or a disk that fails to read makes the next read of the
// mapping raise SIGBUS, which would kill calib in the middle of a recording. The handler
// puts zero pages where the file is gone and lets the read go on; the reader then checks
// the flag and fails with an error naming the file, and its transaction rolls back.

enum { slotCount = 64 };

typedef struct {
  _Atomic uintptr_t start;  // 0: free
  _Atomic uintptr_t end;
  atomic_int faulted;
} Slot;

static Slot slots[slotCount];
static struct sigaction previous;
static pthread_once_t installOnce = PTHREAD_ONCE_INIT;
static uintptr_t pageSize;

static void onBusError(int signal, siginfo_t *info, void *context) {
  uintptr_t address = (uintptr_t)info->si_addr;
  for (int i = 0; i < slotCount; i++) {
    uintptr_t start = atomic_load(&slots[i].start), end = atomic_load(&slots[i].end);
    if (start == 0 || address < start || address >= end) continue;
    uintptr_t page = address & ~(pageSize - 1);
    // mmap is a plain system call on Linux, safe in a handler; the rest of the range at
    // once, so a sequential read faults once, not once per page.
    void *zeros = mmap((void *)page, end - page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (zeros != MAP_FAILED) {
      atomic_store(&slots[i].faulted, 1);
      return;
    }
  }
  // Not a guarded range: what would have happened without this handler.
  if (previous.sa_flags & SA_SIGINFO) {
    previous.sa_sigaction(signal, info, context);
  } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
    previous.sa_handler(signal);
  } else {
    // Returning re-runs the faulting read, which now meets the default action.
    struct sigaction fallback = {0};
    fallback.sa_handler = SIG_DFL;
    sigaction(SIGBUS, &fallback, NULL);
  }
}

static void install(void) {
  pageSize = (uintptr_t)sysconf(_SC_PAGESIZE);
  struct sigaction action = {0};
  action.sa_sigaction = onBusError;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  sigaction(SIGBUS, &action, &previous);
}

int calib_guard_mapping(void *start, size_t length) {
  pthread_once(&installOnce, install);
  for (int i = 0; i < slotCount; i++) {
    uintptr_t expected = 0;
    // Claim the slot with a placeholder start that matches no address, then publish.
    if (!atomic_compare_exchange_strong(&slots[i].start, &expected, UINTPTR_MAX)) continue;
    atomic_store(&slots[i].faulted, 0);
    atomic_store(&slots[i].end, (uintptr_t)start + length);
    atomic_store(&slots[i].start, (uintptr_t)start);
    return i;
  }
  return -1;
}

int calib_unguard_mapping(int slot) {
  if (slot < 0 || slot >= slotCount) return 0;
  int faulted = atomic_load(&slots[slot].faulted);
  atomic_store(&slots[slot].start, 0);
  return faulted;
}
