// The BPE trainer's input: how often each pre-tokenized chunk occurs in the training text.
// Documents arrive in batches; each is cut to its first doc_chars code points and the whole
// stream to max_chars code points (the last document is cut to fit exactly), in arrival
// order, so the text used does not depend on batching or threads. Cutting is sequential and
// cheap; splitting and counting run on several threads, each into its own table, merged at
// the end of the batch. Counts are sums, so the result is the same for any thread count.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer/split_pattern.h"

namespace ar {

using ChunkCounts = std::unordered_map<std::string, int64_t>;

struct CountedBatch {
  size_t docs = 0;   // documents (or parts of documents) used from this batch
  size_t chars = 0;  // code points used from this batch
};

class ChunkCounter {
 public:
  ChunkCounter(std::shared_ptr<const SplitPattern> pattern, size_t doc_chars, size_t max_chars);

  // Caps, splits and counts one batch of documents (valid UTF-8) on `threads` threads.
  CountedBatch add(const std::vector<std::string>& docs, int threads);

  bool full() const { return total_chars_ >= max_chars_; }
  size_t total_docs() const { return total_docs_; }
  size_t total_chars() const { return total_chars_; }
  const ChunkCounts& counts() const { return counts_; }

 private:
  std::shared_ptr<const SplitPattern> pattern_;
  size_t doc_chars_, max_chars_;
  size_t total_docs_ = 0, total_chars_ = 0;
  ChunkCounts counts_;
};

}  // namespace ar
