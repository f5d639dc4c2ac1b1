// Byte-level BPE training on chunk counts (chunk_counts.h), the incremental algorithm of
// HuggingFace tokenizers / rustbpe:
// - every distinct chunk is a "word" of token ids with a weight (its count); pair counts and,
//   per pair, the words containing it are built once;
// - a max-heap of (count, pair) with lazy invalidation: a popped entry whose count is stale is
//   pushed back with the current count, so only pairs that grew need to be pushed;
// - a merge rewrites only the words containing the pair and updates the counts of the pairs
//   of those words.
// Tie-break (documented, deterministic): the highest count wins; among equal counts the pair
// with the smaller left id, then the smaller right id. Results do not depend on the order in
// which text was added or on threads.
// Guard: a pair whose concatenated bytes already exist as a token is skipped. tiktoken's
// format maps bytes to ranks, so every token's bytes must be distinct (a second spelling of
// the same bytes would still merge at encode time, into the existing token). Not observed on
// real text or in randomized searches, but cheap to rule out.
// Ranks: the 256 single bytes have rank = byte value; merge k has rank 256 + k.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/chunk_counts.h"

namespace ar {

// The bytes of every token in rank order: 256 single bytes, then one token per merge.
// Throws InvalidArgument when the text does not contain enough distinct pairs for `merges`.
std::vector<std::string> train_bpe(const ChunkCounts& counts, size_t merges);

}  // namespace ar
