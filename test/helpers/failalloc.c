// Test shim (LD_PRELOAD): ggml's aligned allocations (posix_memalign with 64-byte alignment) of at
// least FAIL_ALLOC_MIN bytes (default 64 KiB) fail with ENOMEM while the file named by
// FAIL_ALLOC_FLAG exists: a memory shortage at a moment the test chooses, without starving the
// rest of the process (Node's own aligned allocations use other alignments).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

int posix_memalign(void** out, size_t alignment, size_t size) {
  static int (*real)(void**, size_t, size_t);
  if (!real) real = (int (*)(void**, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
  const char* flag = getenv("FAIL_ALLOC_FLAG");
  const char* min = getenv("FAIL_ALLOC_MIN");
  if (flag && alignment == 64 && size >= (size_t)(min ? atol(min) : 65536) && access(flag, F_OK) == 0) return ENOMEM;
  return real(out, alignment, size);
}
