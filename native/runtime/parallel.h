// Data-parallel loops of the tokenizer (pre-tokenizing and encoding many documents):
// std::threads rather than libtorch's pool, because the work items are documents of very
// different lengths (handed out one at a time from an atomic counter) and each thread keeps
// its own state (PCRE2 match data, chunk cache). The calling thread works too. The first
// exception thrown by any item stops the loop and is rethrown on the calling thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace ar {

// Calls fn(item, worker) for every item in [0, items) on `threads` threads; worker is the
// thread's index in [0, threads), for per-thread state.
template <typename Fn>
void parallel_items(size_t items, int threads, Fn&& fn) {
  threads = static_cast<int>(std::max<size_t>(1, std::min<size_t>(static_cast<size_t>(std::max(threads, 1)), items)));
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&](int worker) {
    try {
      for (size_t i; !failed.load(std::memory_order_relaxed) && (i = next.fetch_add(1)) < items;) fn(i, worker);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      failed = true;
    }
  };
  std::vector<std::thread> pool;
  for (int w = 1; w < threads; w++) pool.emplace_back(work, w);
  work(0);
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace ar
