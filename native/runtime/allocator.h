// Host-memory allocator settings for training. Each step frees and re-allocates the same
// large activation buffers (logits alone are B*T*V*4 bytes). glibc serves such blocks with
// fresh mmap()s and returns them on free(), so every step pays page faults and page
// clearing for all of them again (a large part of a CPU step). Keeping freed memory in the
// heap for reuse removes that cost; peak memory is unchanged.
//
// What is left is the first step, which grows the heap to the step's peak: one page fault per
// 4 KB page at its first write, ~10 us each in a virtual machine (a first step at the `init`
// config grows the heap by ~400 MB: ~100k faults, ~0.5 s more than the later steps). So
// libtorch's CPU allocator is wrapped: when an allocation has grown the heap, the new pages
// are faulted in by one madvise(MADV_POPULATE_WRITE) (Linux 5.14+; elsewhere nothing changes).
// Only pages the heap has just grown by are populated, so the peak resident memory is the same.
// That halves the first step's faulting cost at best: a page becomes cheap only when user space
// writes it. A training process therefore also warms heap before libtorch loads
// (native/heap/warm_heap.c, which makes these same malloc settings first).
#pragma once

namespace ar {

// Both of the above; called once when the addon loads, before any tensor is allocated.
void keep_freed_memory_for_reuse();

}  // namespace ar
