// The frozen scorer: bits per byte (SPEC §6), the one number every experiment is scored by.
// It is independent of the vocabulary: the summed cross entropy (nats) is divided by the
// number of UTF-8 bytes the target tokens stand for, times ln 2. Special tokens have 0 bytes
// and are left out of both sums, as are ignored targets (-1).
//   val_bpb = sum(loss * [bytes > 0]) / (ln 2 * sum(bytes)),  bytes = token_bytes[target]
// score() gives one batch's sums; lib/bpb.ts adds them up over the evaluation and divides.
#pragma once

#include <torch/torch.h>

#include "model/gpt.h"

namespace ar {

struct BpbSums {
  double nats = 0;    // summed loss over counted tokens
  double bytes = 0;   // summed UTF-8 bytes of counted targets
  int64_t tokens = 0; // counted tokens
};

// Throws InvalidArgument unless token_bytes has one non-negative length per token id of a
// vocabulary of vocab_size. Called before scoring starts, so that a wrong table fails at once.
void check_token_bytes(const torch::Tensor& token_bytes, int64_t vocab_size);

// The entry point: the model's per-token losses on one batch (no autograd; exact on the CPU,
// see model/softcap_cross_entropy.h) summed as above.
// inputs, targets: (B, T) int64 on the model's device, targets -1 ignored; token_bytes: (V,).
BpbSums score(GPT& model, const torch::Tensor& inputs, const torch::Tensor& targets, const torch::Tensor& token_bytes);

// The sums for given per-token losses (any shape, targets the same shape): what score() does
// after the forward pass, exposed so that tests can check it on hand-made losses.
BpbSums bpb_sums(const torch::Tensor& loss, const torch::Tensor& targets, const torch::Tensor& token_bytes);

}  // namespace ar
