#include "data/data_loader.h"

#include <algorithm>
#include <iterator>
#include <limits>
#include <string>
#include <utility>

#include "runtime/errors.h"

namespace ar {
namespace {

// splitmix64 (Steele, Lea, Flood): tiny, fast, and the same on every platform, unlike the
// distributions of <random>, whose results the standard leaves to each library.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t state) : state_(state) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), without modulo bias (rejects the short top range).
  uint64_t below(uint64_t n) {
    uint64_t threshold = (0 - n) % n;  // 2^64 mod n
    for (;;) {
      uint64_t r = next();
      if (r >= threshold) return r % n;
    }
  }

 private:
  uint64_t state_;
};

}  // namespace

void LoaderConfig::validate() const {
  if (batch_size < 1) throw InvalidArgument("batchSize must be at least 1 (got " + std::to_string(batch_size) + ")");
  if (seq_len < 1) throw InvalidArgument("seqLen must be at least 1 (got " + std::to_string(seq_len) + ")");
  if (buffer_docs < 1) throw InvalidArgument("bufferDocs must be at least 1 (got " + std::to_string(buffer_docs) + ")");
  if (batch_size > std::numeric_limits<int32_t>::max() / (seq_len + 1)) {
    throw InvalidArgument("batchSize " + std::to_string(batch_size) + " x (seqLen " + std::to_string(seq_len) +
                          " + 1) tokens do not fit one batch array: use a smaller batch");
  }
}

DocumentStream::DocumentStream(size_t documents, uint64_t seed, bool shuffle)
    : documents_(documents), seed_(seed), shuffle_(shuffle), position_(documents) {
  if (documents == 0) throw InvalidArgument("a document stream needs at least one document");
  if (shuffle && documents > std::numeric_limits<uint32_t>::max()) {
    throw InvalidArgument("more than 2^32 - 1 documents cannot be shuffled: split the token file");
  }
}

void DocumentStream::start_epoch() {
  epoch_++;
  position_ = 0;
  if (!shuffle_) return;
  order_.resize(documents_);
  for (size_t i = 0; i < documents_; i++) order_[i] = static_cast<uint32_t>(i);
  // One independent generator per (seed, epoch): any epoch's order can be rebuilt alone.
  SplitMix64 rng(seed_ ^ (static_cast<uint64_t>(epoch_) * 0xD1B54A32D192ED03ull));
  for (size_t i = documents_ - 1; i > 0; i--) std::swap(order_[i], order_[rng.below(i + 1)]);  // Fisher-Yates
}

size_t DocumentStream::next() {
  if (position_ == documents_) start_epoch();
  size_t i = position_++;
  return shuffle_ ? order_[i] : i;
}

DataLoader::DataLoader(std::shared_ptr<const TokenFile> file, const LoaderConfig& config)
    : file_(std::move(file)), config_(config), stream_(file_->documents(), config.seed, config.shuffle) {
  config_.validate();
  refill();
}

void DataLoader::refill() {
  // A file with fewer documents than the buffer buffers each of them once: filling the
  // buffer to its nominal size would put copies of the same document side by side.
  const int64_t target = std::min<int64_t>(config_.buffer_docs, static_cast<int64_t>(file_->documents()));
  while (static_cast<int64_t>(buffer_.size()) < target) {
    DocumentSpan doc = file_->document(stream_.next());
    buffer_.insert({doc.length, arrivals_++, doc.begin});
  }
}

void DataLoader::place(uint64_t begin, uint64_t count, int64_t b, int64_t pos, int32_t* inputs, int32_t* targets) {
  const int64_t T = config_.seq_len;
  const int64_t end = pos + static_cast<int64_t>(count);  // <= T + 1
  // inputs = row[:-1]: row positions [0, T)
  if (pos < T) file_->copy_tokens(begin, std::min(end, T) - pos, inputs + b * T + pos);
  // targets = row[1:]: row positions [1, T + 1), shifted left by one
  int64_t from = std::max<int64_t>(pos, 1);
  if (from < end) file_->copy_tokens(begin + (from - pos), end - from, targets + b * T + from - 1);
}

void DataLoader::next(int32_t* inputs, int32_t* targets) {
  const uint64_t capacity = static_cast<uint64_t>(config_.seq_len) + 1;
  for (int64_t b = 0; b < config_.batch_size; b++) {
    uint64_t pos = 0;
    while (pos < capacity) {
      refill();
      const uint64_t remaining = capacity - pos;
      // The first document longer than the remaining space; the one before it is the
      // largest that fits. Among equal lengths take the earliest arrival.
      auto longer = buffer_.lower_bound({remaining + 1, 0, 0});
      auto pick = buffer_.begin();  // none fits: the shortest, cropped
      uint64_t count = remaining;
      if (longer != buffer_.begin()) {
        count = std::prev(longer)->length;
        pick = buffer_.lower_bound({count, 0, 0});
      }
      place(pick->begin, count, b, static_cast<int64_t>(pos), inputs, targets);
      pos += count;
      buffer_.erase(pick);
      documents_consumed_++;
    }
  }
  tokens_served_ += config_.batch_size * (config_.seq_len + 1);
}

LoaderState DataLoader::state() const { return {stream_.epoch(), documents_consumed_, tokens_served_}; }

}  // namespace ar
