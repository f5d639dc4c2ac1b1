#include "tokenizer/chunk_counts.h"

#include <string_view>

#include "runtime/errors.h"
#include "runtime/parallel.h"
#include "tokenizer/utf8.h"

namespace ar {

ChunkCounter::ChunkCounter(std::shared_ptr<const SplitPattern> pattern, size_t doc_chars, size_t max_chars)
    : pattern_(std::move(pattern)), doc_chars_(doc_chars), max_chars_(max_chars) {}

CountedBatch ChunkCounter::add(const std::vector<std::string>& docs, int threads) {
  // The part of each document that is used, decided in order; the totals only change once
  // the whole batch is known to be valid.
  std::vector<std::string_view> used;
  CountedBatch batch;
  for (const auto& doc : docs) {
    size_t left = max_chars_ - total_chars_ - batch.chars;
    if (left == 0) break;
    auto prefix = utf8_prefix(doc, std::min(doc_chars_, left));
    used.emplace_back(doc.data(), prefix.bytes);
    if (!valid_utf8(used.back())) throw InvalidArgument("a training document is not valid UTF-8; pass JavaScript strings");
    batch.chars += prefix.code_points;
    batch.docs++;
  }
  int n = std::max(1, std::min(threads, static_cast<int>(std::max<size_t>(used.size(), 1))));
  std::vector<ChunkCounts> local(n);
  std::vector<std::unique_ptr<SplitScanner>> scanners;
  for (int w = 0; w < n; w++) scanners.push_back(std::make_unique<SplitScanner>(pattern_));
  parallel_items(used.size(), n, [&](size_t i, int w) {
    auto& counts = local[w];
    scanners[w]->split(used[i], [&](std::string_view chunk) { counts[std::string(chunk)]++; });
  });
  for (auto& counts : local) {
    if (counts_.empty()) {
      counts_.swap(counts);
      continue;
    }
    for (auto& [chunk, count] : counts) counts_[chunk] += count;
  }
  total_chars_ += batch.chars;
  total_docs_ += batch.docs;
  return batch;
}

}  // namespace ar
