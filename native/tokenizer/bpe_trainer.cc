#include "tokenizer/bpe_trainer.h"

#include <algorithm>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "runtime/errors.h"
#include "tokenizer/flat_hash.h"

namespace ar {
namespace {

struct Word {
  std::vector<int32_t> ids;
  int64_t count;
};

struct HeapEntry {
  int64_t count;
  uint64_t pair;  // pair_key(left, right): comparing keys compares (left, right)
  // Max-heap order: higher count first, then the smaller pair.
  bool operator<(const HeapEntry& o) const { return count < o.count || (count == o.count && pair > o.pair); }
};

int32_t left_of(uint64_t key) { return static_cast<int32_t>(key >> 32); }
int32_t right_of(uint64_t key) { return static_cast<int32_t>(key & 0xFFFFFFFFu); }

class Trainer {
 public:
  explicit Trainer(const ChunkCounts& counts) {
    tokens_.reserve(256);
    for (int b = 0; b < 256; b++) {
      tokens_.emplace_back(1, static_cast<char>(b));
      known_.insert(tokens_.back());
    }
    words_.reserve(counts.size());
    for (const auto& [chunk, count] : counts) {
      if (chunk.size() < 2) continue;  // no pairs
      Word w{std::vector<int32_t>(chunk.size()), count};
      for (size_t i = 0; i < chunk.size(); i++) w.ids[i] = static_cast<unsigned char>(chunk[i]);
      words_.push_back(std::move(w));
    }
    for (uint32_t w = 0; w < words_.size(); w++) {
      const auto& ids = words_[w].ids;
      for (size_t i = 0; i + 1 < ids.size(); i++) {
        uint64_t key = pair_key(ids[i], ids[i + 1]);
        pair_count_[key] += words_[w].count;
        auto& list = where_[key];
        if (list.empty() || list.back() != w) list.push_back(w);
      }
    }
    std::vector<HeapEntry> entries;
    entries.reserve(pair_count_.size());
    for (const auto& [key, count] : pair_count_) entries.push_back({count, key});
    heap_ = std::priority_queue<HeapEntry>(std::less<HeapEntry>(), std::move(entries));
  }

  std::vector<std::string> run(size_t merges) {
    for (size_t k = 0; k < merges; k++) {
      uint64_t pair;
      if (!best_pair(&pair)) {
        throw InvalidArgument("the training text allows only " + std::to_string(k) + " merges but " +
                              std::to_string(merges) + " were asked for: train on more text or lower vocabSize");
      }
      merge(pair, static_cast<int32_t>(tokens_.size()));
    }
    return std::move(tokens_);
  }

 private:
  int64_t current(uint64_t key) const {
    auto it = pair_count_.find(key);
    return it == pair_count_.end() ? 0 : it->second;
  }

  // Pops until the top entry is current; false when no pair is left.
  bool best_pair(uint64_t* pair) {
    while (!heap_.empty()) {
      HeapEntry top = heap_.top();
      heap_.pop();
      int64_t count = current(top.pair);
      if (count != top.count) {
        if (count > 0) heap_.push({count, top.pair});
        continue;
      }
      if (count <= 0) continue;
      std::string bytes = tokens_[left_of(top.pair)] + tokens_[right_of(top.pair)];
      if (known_.count(bytes)) continue;  // would duplicate an existing token's bytes
      *pair = top.pair;
      return true;
    }
    return false;
  }

  void add_pairs(const Word& w, int64_t sign) {
    for (size_t i = 0; i + 1 < w.ids.size(); i++) pair_count_[pair_key(w.ids[i], w.ids[i + 1])] += sign * w.count;
  }

  void merge(uint64_t pair, int32_t new_id) {
    const int32_t a = left_of(pair), b = right_of(pair);
    tokens_.push_back(tokens_[a] + tokens_[b]);
    known_.insert(tokens_.back());
    std::vector<uint32_t> affected = std::move(where_[pair]);
    where_.erase(pair);
    std::sort(affected.begin(), affected.end());
    affected.erase(std::unique(affected.begin(), affected.end()), affected.end());
    std::vector<uint64_t> grown;  // pairs with the new token: the only counts that increase
    for (uint32_t wi : affected) {
      Word& w = words_[wi];
      auto& ids = w.ids;
      bool present = false;
      for (size_t i = 0; i + 1 < ids.size() && !present; i++) present = ids[i] == a && ids[i + 1] == b;
      if (!present) continue;  // stale entry: an earlier merge consumed the pair here
      add_pairs(w, -1);
      size_t out = 0;
      for (size_t i = 0; i < ids.size();) {
        if (i + 1 < ids.size() && ids[i] == a && ids[i + 1] == b) {
          ids[out++] = new_id;
          i += 2;
        } else {
          ids[out++] = ids[i++];
        }
      }
      ids.resize(out);
      add_pairs(w, +1);
      for (size_t i = 0; i + 1 < ids.size(); i++) {
        if (ids[i] != new_id && ids[i + 1] != new_id) continue;
        uint64_t key = pair_key(ids[i], ids[i + 1]);
        auto& list = where_[key];
        if (list.empty() || list.back() != wi) list.push_back(wi);
        grown.push_back(key);
      }
    }
    pair_count_.erase(pair);
    std::sort(grown.begin(), grown.end());
    grown.erase(std::unique(grown.begin(), grown.end()), grown.end());
    for (uint64_t key : grown) heap_.push({current(key), key});
  }

  std::vector<std::string> tokens_;
  std::unordered_set<std::string> known_;
  std::vector<Word> words_;
  std::unordered_map<uint64_t, int64_t> pair_count_;
  std::unordered_map<uint64_t, std::vector<uint32_t>> where_;
  std::priority_queue<HeapEntry> heap_;
};

}  // namespace

std::vector<std::string> train_bpe(const ChunkCounts& counts, size_t merges) {
  if (merges == 0) {
    std::vector<std::string> tokens;
    for (int b = 0; b < 256; b++) tokens.emplace_back(1, static_cast<char>(b));
    return tokens;
  }
  return Trainer(counts).run(merges);
}

}  // namespace ar
