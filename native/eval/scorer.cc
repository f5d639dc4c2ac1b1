#include "eval/scorer.h"

#include <string>

#include "runtime/errors.h"

namespace ar {

void check_token_bytes(const torch::Tensor& token_bytes, int64_t vocab_size) {
  if (token_bytes.numel() != vocab_size) {
    throw InvalidArgument("tokenBytes has " + std::to_string(token_bytes.numel()) + " entries, the vocabulary " +
                          std::to_string(vocab_size) + ": use the token_bytes of the model's tokenizer");
  }
  if (token_bytes.lt(0).any().item<bool>()) throw InvalidArgument("tokenBytes must not contain negative lengths");
}

BpbSums score(GPT& model, const torch::Tensor& inputs, const torch::Tensor& targets, const torch::Tensor& token_bytes) {
  return bpb_sums(model.per_token_loss(inputs, targets), targets, token_bytes);
}

BpbSums bpb_sums(const torch::Tensor& loss, const torch::Tensor& targets, const torch::Tensor& token_bytes) {
  auto flat_targets = targets.reshape({-1});
  auto valid = flat_targets.ge(0);
  auto bytes = token_bytes.to(loss.device()).index_select(0, flat_targets.clamp_min(0)).to(torch::kFloat64);
  bytes = bytes * valid.to(torch::kFloat64);
  auto counted = bytes.gt(0);
  auto nats = (loss.reshape({-1}).to(torch::kFloat64) * counted.to(torch::kFloat64)).sum();
  return {nats.item<double>(), bytes.sum().item<double>(), counted.sum().item<int64_t>()};
}

}  // namespace ar
