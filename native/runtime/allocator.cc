#include "runtime/allocator.h"

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include <c10/core/CPUAllocator.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older C headers lack the name
#endif
#endif

namespace ar {

namespace {

#if defined(__GLIBC__) && defined(__linux__)

// libtorch's default CPU allocator with the heap's growth faulted in at once (allocator.h).
// c10::Allocator's allocate() is const in libtorch 1.x and not in 2.x, which also adds a pure
// copy_data(): both forms are declared, and each libtorch overrides the ones it has.
class PopulatingCpuAllocator final : public c10::Allocator {
 public:
  explicit PopulatingCpuAllocator(c10::Allocator* base) : base_(base), top_(heap_top()) {}

  c10::DataPtr allocate(size_t n) const { return populated(base_->allocate(n)); }
  c10::DataPtr allocate(size_t n) { return populated(base_->allocate(n)); }
  void copy_data(void* dest, const void* src, std::size_t count) const { std::memcpy(dest, src, count); }
  c10::DeleterFnPtr raw_deleter() const override { return base_->raw_deleter(); }

 private:
  static uintptr_t heap_top() { return reinterpret_cast<uintptr_t>(sbrk(0)); }  // no system call

  c10::DataPtr populated(c10::DataPtr data) const {
    const uintptr_t top = heap_top();
    uintptr_t old = top_.load(std::memory_order_relaxed);
    if (top > old && enabled_.load(std::memory_order_relaxed) && top_.compare_exchange_strong(old, top)) {
      const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
      const uintptr_t begin = (old + page - 1) & ~(page - 1), end = top & ~(page - 1);
      // EINVAL: a kernel before 5.14. Then faults happen as before, and no more calls are made.
      if (end > begin && madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE) != 0 && errno == EINVAL) {
        enabled_.store(false, std::memory_order_relaxed);
      }
    }
    return data;
  }

  c10::Allocator* base_;
  mutable std::atomic<uintptr_t> top_;  // the heap's end when last populated
  mutable std::atomic<bool> enabled_{true};
};

#endif

}  // namespace

void keep_freed_memory_for_reuse() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_MAX, 0);                 // large blocks come from the heap, not one mmap each
  mallopt(M_TRIM_THRESHOLD, 0x7fffffff);  // and freed memory stays there for the next step
  mallopt(M_ARENA_MAX, 1);                // thread-pool work (evaluation) shares that heap: other
                                          // arenas live in mmap'd heaps that are shrunk and refaulted
#endif
#if defined(__GLIBC__) && defined(__linux__)
  static PopulatingCpuAllocator allocator(c10::GetDefaultCPUAllocator());
  c10::SetCPUAllocator(&allocator, /*priority=*/1);
#endif
}

}  // namespace ar
