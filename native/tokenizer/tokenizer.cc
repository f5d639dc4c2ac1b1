#include "tokenizer/tokenizer.h"

#include "runtime/errors.h"
#include "runtime/parallel.h"

namespace ar {

Tokenizer::Tokenizer(std::shared_ptr<const SplitPattern> pattern, std::unique_ptr<BpeEncoder> encoder)
    : pattern_(std::move(pattern)), encoder_(std::move(encoder)) {}

std::unique_ptr<Tokenizer::Worker> Tokenizer::acquire() const {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!idle_.empty()) {
      auto worker = std::move(idle_.back());
      idle_.pop_back();
      return worker;
    }
  }
  return std::make_unique<Worker>(pattern_);
}

void Tokenizer::release(std::unique_ptr<Worker> worker) const {
  std::lock_guard<std::mutex> lock(mutex_);
  idle_.push_back(std::move(worker));
}

void Tokenizer::encode_with(Worker& worker, std::string_view text, bool bos, std::vector<int32_t>& out) const {
  if (bos) {
    if (bos_id() < 0) throw InvalidArgument("this tokenizer has no special tokens, so no BOS; encode without bos");
    out.push_back(bos_id());
  }
  out.reserve(out.size() + text.size() / 3 + 1);
  worker.scanner.split(text, [&](std::string_view chunk) { encoder_->encode_chunk(chunk, worker.cache, out); });
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool bos) const {
  auto worker = acquire();
  std::vector<int32_t> out;
  try {
    encode_with(*worker, text, bos, out);
  } catch (...) {
    release(std::move(worker));
    throw;
  }
  release(std::move(worker));
  return out;
}

std::vector<std::vector<int32_t>> Tokenizer::encode_batch(const std::vector<std::string>& texts, bool bos,
                                                          int threads) const {
  std::vector<std::vector<int32_t>> out(texts.size());
  threads = std::max(1, std::min(threads, static_cast<int>(std::max<size_t>(texts.size(), 1))));
  std::vector<std::unique_ptr<Worker>> workers;
  for (int w = 0; w < threads; w++) workers.push_back(acquire());
  try {
    parallel_items(texts.size(), threads, [&](size_t i, int w) { encode_with(*workers[w], texts[i], bos, out[i]); });
  } catch (...) {
    for (auto& w : workers) release(std::move(w));
    throw;
  }
  for (auto& w : workers) release(std::move(w));
  return out;
}

}  // namespace ar
