#include "eval/bpb.h"

namespace ar {

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
