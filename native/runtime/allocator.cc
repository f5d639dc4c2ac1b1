#include "runtime/allocator.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ar {

void keep_freed_memory_for_reuse() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_MAX, 0);                 // large blocks come from the heap, not one mmap each
  mallopt(M_TRIM_THRESHOLD, 0x7fffffff);  // and freed memory stays there for the next step
  mallopt(M_ARENA_MAX, 1);                // thread-pool work (evaluation) shares that heap: other
                                          // arenas live in mmap'd heaps that are shrunk and refaulted
#endif
}

}  // namespace ar
