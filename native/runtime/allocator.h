// Host-memory allocator settings for training. Each step frees and re-allocates the same
// large activation buffers (logits alone are B*T*V*4 bytes). glibc serves such blocks with
// fresh mmap()s and returns them on free(), so every step pays page faults and page
// clearing for all of them again (a large part of a CPU step). Keeping freed memory in the
// heap for reuse removes that cost; peak memory is unchanged.
#pragma once

namespace ar {

void keep_freed_memory_for_reuse();

}  // namespace ar
