// BOS-aligned best-fit packing (SPEC §3, after nanochat's best-fit loader).
// - Documents come from an endless stream over a TokenFile: each pass (epoch) visits every
//   document once, in file order or in a permutation drawn from (seed, epoch) with our own
//   splitmix64 + Fisher-Yates, so an order depends on nothing but the seed.
// - A buffer of at least buffer_docs documents is topped up from the stream before every
//   pick. Each row of T + 1 tokens is filled left to right with the LARGEST buffered document
//   that fits entirely in the remaining space; when none fits, the SHORTEST one is cropped to
//   fill the row exactly and its remainder is discarded. Ties go to the document buffered
//   first, as in the reference's linear scan. Rows start with BOS, no padding.
// - The buffer is an ordered set keyed by (length, arrival): O(log n) per document, and it
//   holds spans into the mapped file, never token copies.
// - Rows are written straight into the caller's inputs (row[:-1]) and targets (row[1:]).
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <vector>

#include "data/token_file.h"

namespace ar {

struct LoaderConfig {
  int64_t batch_size = 1;     // rows per batch (B)
  int64_t seq_len = 1;        // model positions per row (T); a row packs T + 1 tokens
  uint64_t seed = 0;          // seed of the per-epoch document order
  int64_t buffer_docs = 1000; // documents kept in the best-fit buffer (reference: 1000)
  bool shuffle = true;        // false: visit documents in file order every epoch

  void validate() const;
};

// Every document of a file, pass after pass, in file order or in a seeded order per pass.
class DocumentStream {
 public:
  DocumentStream(size_t documents, uint64_t seed, bool shuffle);

  // Index of the next document; starts a new pass (epoch + 1) after the last one.
  size_t next();
  // The pass the last document handed out belongs to (1 for the first); 0 before any.
  int64_t epoch() const { return epoch_; }

 private:
  void start_epoch();

  size_t documents_;
  uint64_t seed_;
  bool shuffle_;
  int64_t epoch_ = 0;
  size_t position_ = 0;
  std::vector<uint32_t> order_;  // this pass's permutation (empty when not shuffling)
};

struct LoaderState {
  int64_t epoch;               // pass of the document stream (1 during the first)
  int64_t documents_consumed;  // documents placed into rows, whole or cropped
  int64_t tokens_served;       // tokens placed into rows: B * (T + 1) per batch
};

class DataLoader {
 public:
  // Fills the buffer right away, so the stream is in its first epoch from the start.
  DataLoader(std::shared_ptr<const TokenFile> file, const LoaderConfig& config);

  const LoaderConfig& config() const { return config_; }
  const TokenFile& file() const { return *file_; }

  // Packs the next batch. inputs and targets each hold B * T ids, row-major.
  void next(int32_t* inputs, int32_t* targets);
  LoaderState state() const;

 private:
  struct Buffered {
    uint64_t length;  // tokens, BOS included
    uint64_t arrival; // order of entry into the buffer: the tie-break
    uint64_t begin;   // offset of the BOS in the file
    bool operator<(const Buffered& other) const {
      return length != other.length ? length < other.length : arrival < other.arrival;
    }
  };

  void refill();
  // Writes tokens [begin, begin + count) of the file to row position pos of row b.
  void place(uint64_t begin, uint64_t count, int64_t b, int64_t pos, int32_t* inputs, int32_t* targets);

  std::shared_ptr<const TokenFile> file_;
  LoaderConfig config_;
  DocumentStream stream_;
  std::set<Buffered> buffer_;
  uint64_t arrivals_ = 0;
  int64_t documents_consumed_ = 0;
  int64_t tokens_served_ = 0;
};

}  // namespace ar
