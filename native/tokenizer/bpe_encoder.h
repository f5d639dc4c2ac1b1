// Byte-level BPE on one chunk, and back from ids to bytes, with tiktoken's algorithm so that
// ids are identical to tiktoken's for the same ranks:
// - a chunk that is itself a token becomes that token;
// - otherwise it starts as single bytes and the adjacent pair whose concatenation has the
//   lowest rank is merged, leftmost first on ties, until no adjacent concatenation is a token.
// Ranks are looked up by bytes in tiktoken; here a pair table maps (left id, right id) to the
// rank of their concatenation, built from every split of every token, which is the same
// lookup because every part is a token. Short chunks use tiktoken's linear scan; long ones
// (runs of letters or spaces) a heap ordered by (rank, position), which merges in the same
// order in O(n log n) instead of O(n^2).
// Token bytes must be distinct and include all 256 single bytes (byte-level fallback).
// Special tokens get the ids after the last rank; encoding never produces them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/chunk_cache.h"
#include "tokenizer/flat_hash.h"

namespace ar {

class BpeEncoder {
 public:
  // ranks[r]: the bytes of the token of rank r (= its id). Throws InvalidArgument naming
  // the problem for duplicate or empty tokens, a missing single byte, or bad special tokens.
  BpeEncoder(std::vector<std::string> ranks, std::vector<std::string> specials);
  BpeEncoder(const BpeEncoder&) = delete;  // rank_of_ points into ranks_
  BpeEncoder& operator=(const BpeEncoder&) = delete;

  int32_t num_ranks() const { return static_cast<int32_t>(ranks_.size()); }
  int32_t vocab_size() const { return num_ranks() + static_cast<int32_t>(specials_.size()); }
  const std::vector<std::string>& specials() const { return specials_; }

  // Appends the ids of one pre-tokenized chunk to out.
  void encode_chunk(std::string_view chunk, std::vector<int32_t>& out) const;
  // The same through a memo: repeated chunks are looked up instead of merged again.
  void encode_chunk(std::string_view chunk, ChunkCache& cache, std::vector<int32_t>& out) const;

  // Concatenated bytes of the ids (a special token contributes its text). Throws
  // InvalidArgument for an id outside [0, vocab_size).
  std::string decode_bytes(const int32_t* ids, size_t n) const;
  // Byte length of every id's token, 0 for special tokens (SPEC §3 token_bytes).
  std::vector<int32_t> token_lengths() const;

 private:
  void merge_short(std::string_view chunk, std::vector<int32_t>& out) const;
  void merge_long(std::string_view chunk, std::vector<int32_t>& out) const;

  std::vector<std::string> ranks_;
  std::vector<std::string> specials_;
  std::unordered_map<std::string_view, int32_t> rank_of_;  // views into ranks_
  int32_t byte_rank_[256];
  PairRankMap pair_rank_;
};

}  // namespace ar
