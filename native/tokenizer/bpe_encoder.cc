#include "tokenizer/bpe_encoder.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <queue>
#include <unordered_set>

#include "runtime/errors.h"

namespace ar {
namespace {

// Chunks up to this many bytes use the quadratic scan: for short chunks it beats the heap.
constexpr size_t kLongChunk = 128;

std::string hex_byte(int b) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "0x%02X", b);
  return buf;
}

}  // namespace

BpeEncoder::BpeEncoder(std::vector<std::string> ranks, std::vector<std::string> specials)
    : ranks_(std::move(ranks)), specials_(std::move(specials)) {
  if (ranks_.size() + specials_.size() > static_cast<size_t>(INT32_MAX)) {
    throw InvalidArgument("the vocabulary is too large for int32 token ids");
  }
  std::fill(std::begin(byte_rank_), std::end(byte_rank_), -1);
  rank_of_.reserve(ranks_.size());
  size_t splits = 0;
  for (size_t r = 0; r < ranks_.size(); r++) {
    const std::string& bytes = ranks_[r];
    if (bytes.empty()) throw InvalidArgument("the token of rank " + std::to_string(r) + " is empty; every token needs bytes");
    auto [it, fresh] = rank_of_.emplace(std::string_view(bytes), static_cast<int32_t>(r));
    if (!fresh) {
      throw InvalidArgument("the tokens of ranks " + std::to_string(it->second) + " and " + std::to_string(r) +
                            " have the same bytes; every token must be distinct");
    }
    if (bytes.size() == 1) byte_rank_[static_cast<unsigned char>(bytes[0])] = static_cast<int32_t>(r);
    splits += bytes.size() - 1;
  }
  for (int b = 0; b < 256; b++) {
    if (byte_rank_[b] < 0) {
      throw InvalidArgument("the vocabulary has no token for the single byte " + hex_byte(b) +
                            "; a byte-level BPE needs all 256 bytes as tokens");
    }
  }
  std::unordered_set<std::string> seen;
  for (const auto& s : specials_) {
    if (s.empty()) throw InvalidArgument("special tokens must not be empty strings");
    if (!seen.insert(s).second) throw InvalidArgument("special token '" + s + "' is listed twice");
  }
  // Every way of writing a token as (token, token): the pair table of the merge loop.
  pair_rank_.reserve(splits);
  for (size_t r = 0; r < ranks_.size(); r++) {
    std::string_view bytes = ranks_[r];
    for (size_t k = 1; k < bytes.size(); k++) {
      auto left = rank_of_.find(bytes.substr(0, k));
      if (left == rank_of_.end()) continue;
      auto right = rank_of_.find(bytes.substr(k));
      if (right == rank_of_.end()) continue;
      pair_rank_.insert(left->second, right->second, static_cast<int32_t>(r));
    }
  }
}

void BpeEncoder::encode_chunk(std::string_view chunk, std::vector<int32_t>& out) const {
  if (chunk.empty()) return;
  auto whole = rank_of_.find(chunk);
  if (whole != rank_of_.end()) {
    out.push_back(whole->second);
  } else if (chunk.size() <= kLongChunk) {
    merge_short(chunk, out);
  } else {
    merge_long(chunk, out);
  }
}

void BpeEncoder::encode_chunk(std::string_view chunk, ChunkCache& cache, std::vector<int32_t>& out) const {
  if (chunk.size() > ChunkCache::kMaxKeyBytes) return encode_chunk(chunk, out);
  uint64_t hash = hash_bytes(chunk);
  size_t count = 0;
  if (const int32_t* ids = cache.find(chunk, hash, &count)) {
    out.insert(out.end(), ids, ids + count);
    return;
  }
  size_t before = out.size();
  encode_chunk(chunk, out);
  cache.insert(chunk, hash, out.data() + before, out.size() - before);
}

// tiktoken's byte_pair_merge: parts[i] holds the id of part i and the rank of the
// concatenation of parts i and i+1; merge the lowest (leftmost on ties) until none is left.
void BpeEncoder::merge_short(std::string_view chunk, std::vector<int32_t>& out) const {
  struct Part {
    int32_t id, rank;
  };
  Part parts[kLongChunk];
  size_t n = chunk.size();
  for (size_t i = 0; i < n; i++) parts[i].id = byte_rank_[static_cast<unsigned char>(chunk[i])];
  for (size_t i = 0; i + 1 < n; i++) parts[i].rank = pair_rank_.find(parts[i].id, parts[i + 1].id);
  parts[n - 1].rank = PairRankMap::kNone;
  while (n > 1) {
    size_t best = 0;
    int32_t best_rank = PairRankMap::kNone;
    for (size_t i = 0; i + 1 < n; i++) {
      if (parts[i].rank < best_rank) {
        best_rank = parts[i].rank;
        best = i;
      }
    }
    if (best_rank == PairRankMap::kNone) break;
    parts[best].id = best_rank;  // a token's id is its rank
    std::copy(parts + best + 2, parts + n, parts + best + 1);
    n--;
    parts[best].rank = best + 1 < n ? pair_rank_.find(parts[best].id, parts[best + 1].id) : PairRankMap::kNone;
    if (best > 0) parts[best - 1].rank = pair_rank_.find(parts[best - 1].id, parts[best].id);
  }
  for (size_t i = 0; i < n; i++) out.push_back(parts[i].id);
}

// The same merge order with a min-heap of (rank, start byte of the left part). Entries are
// checked when popped (lazy invalidation): the left part must still exist and the pair it
// forms with its current right neighbour must still have the entry's rank.
void BpeEncoder::merge_long(std::string_view chunk, std::vector<int32_t>& out) const {
  const int32_t n = static_cast<int32_t>(chunk.size());
  std::vector<int32_t> id(n), next(n), prev(n);
  using Entry = std::pair<int32_t, int32_t>;  // (rank, start)
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
  for (int32_t i = 0; i < n; i++) {
    id[i] = byte_rank_[static_cast<unsigned char>(chunk[i])];
    next[i] = i + 1;
    prev[i] = i - 1;
  }
  auto push = [&](int32_t left) {
    if (left < 0 || next[left] >= n) return;
    int32_t rank = pair_rank_.find(id[left], id[next[left]]);
    if (rank != PairRankMap::kNone) heap.emplace(rank, left);
  };
  for (int32_t i = 0; i + 1 < n; i++) push(i);
  while (!heap.empty()) {
    auto [rank, left] = heap.top();
    heap.pop();
    if (id[left] < 0 || next[left] >= n || pair_rank_.find(id[left], id[next[left]]) != rank) continue;
    int32_t right = next[left];
    id[left] = rank;
    id[right] = -1;
    next[left] = next[right];
    if (next[left] < n) prev[next[left]] = left;
    push(left);
    push(prev[left]);
  }
  for (int32_t i = 0; i < n; i = next[i]) out.push_back(id[i]);
}

std::string BpeEncoder::decode_bytes(const int32_t* ids, size_t n) const {
  std::string out;
  const int32_t ranks = num_ranks(), vocab = vocab_size();
  for (size_t i = 0; i < n; i++) {
    int32_t id = ids[i];
    if (id < 0 || id >= vocab) {
      throw InvalidArgument("token id " + std::to_string(id) + " at position " + std::to_string(i) +
                            " is outside the vocabulary [0, " + std::to_string(vocab) +
                            "): were these ids made by another tokenizer?");
    }
    out += id < ranks ? ranks_[id] : specials_[id - ranks];
  }
  return out;
}

std::vector<int32_t> BpeEncoder::token_lengths() const {
  std::vector<int32_t> lengths(vocab_size(), 0);
  for (size_t r = 0; r < ranks_.size(); r++) lengths[r] = static_cast<int32_t>(ranks_[r].size());
  return lengths;
}

}  // namespace ar
