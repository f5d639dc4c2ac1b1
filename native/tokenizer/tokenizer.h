// Text -> token ids: the split pattern, then BPE per chunk (bpe_encoder.h), then the optional
// BOS. The object is immutable after construction and shared by every call; the mutable
// per-thread state (PCRE2 scanner, chunk cache) lives in Workers taken from a pool for the
// length of a call and given back, so caches stay warm across calls and concurrent calls
// (several encodeBatch promises at once) never share one.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/bpe_encoder.h"
#include "tokenizer/chunk_cache.h"
#include "tokenizer/split_pattern.h"

namespace ar {

class Tokenizer {
 public:
  Tokenizer(std::shared_ptr<const SplitPattern> pattern, std::unique_ptr<BpeEncoder> encoder);

  const BpeEncoder& encoder() const { return *encoder_; }
  const SplitPattern& pattern() const { return *pattern_; }
  // The first special token (<|reserved_0|>), -1 when there are none.
  int32_t bos_id() const { return encoder_->specials().empty() ? -1 : encoder_->num_ranks(); }

  // bos: put bos_id() first (throws when the tokenizer has no special tokens).
  std::vector<int32_t> encode(std::string_view text, bool bos) const;
  // Every text on up to `threads` threads; the result keeps the order of texts.
  std::vector<std::vector<int32_t>> encode_batch(const std::vector<std::string>& texts, bool bos, int threads) const;

 private:
  struct Worker {
    explicit Worker(std::shared_ptr<const SplitPattern> pattern) : scanner(std::move(pattern)) {}
    SplitScanner scanner;
    ChunkCache cache;
  };
  std::unique_ptr<Worker> acquire() const;
  void release(std::unique_ptr<Worker> worker) const;
  void encode_with(Worker& worker, std::string_view text, bool bos, std::vector<int32_t>& out) const;

  std::shared_ptr<const SplitPattern> pattern_;
  std::unique_ptr<BpeEncoder> encoder_;
  mutable std::mutex mutex_;
  mutable std::vector<std::unique_ptr<Worker>> idle_;
};

}  // namespace ar
