// The LM head, soft-cap and cross entropy computed a chunk of rows at a time, so the
// (B*T) x V logits never exist whole: loss = logsumexp(s) - s[target] with
// s = cap * tanh(x W^T / cap) (no tanh when cap <= 0), targets of -1 ignored.
// At vocab 8192 the whole logits of a 16 x 256 batch are 134 MB per temporary; a chunk stays
// in cache, which makes training steps faster and their peak memory a fraction.
#pragma once

#include <torch/torch.h>

namespace ar {

// Per-token loss (N), 0 where the target is -1. No autograd: the evaluation path.
// x: (N, C) in the compute dtype, weight: (V, C), targets: (N) int64.
torch::Tensor softcap_cross_entropy_per_token(const torch::Tensor& x, const torch::Tensor& weight,
                                              const torch::Tensor& targets, double cap);

// Mean loss over the counted targets, differentiable in x and weight. The gradients are
// computed chunk by chunk during the forward pass and handed out by backward.
torch::Tensor softcap_cross_entropy_mean(const torch::Tensor& x, const torch::Tensor& weight,
                                         const torch::Tensor& targets, double cap);

}  // namespace ar
