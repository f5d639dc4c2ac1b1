// The LM head, soft-cap and cross entropy computed a chunk of rows at a time, so the
// (B*T) x V logits never exist whole: loss = logsumexp(s) - s[target] with
// s = cap * tanh(x W^T / cap) (no tanh when cap <= 0), targets of -1 ignored.
// The whole logits are B*T*V floats per temporary (hundreds of MB at the reference sizes); a
// chunk stays in cache, which makes training steps faster and their peak memory a fraction.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace ar {

// Per-token loss (N), 0 where the target is -1. No autograd: the evaluation path. On the CPU
// (fp32, 0 < cap <= 60) everything after the head's matmul is exact to double precision and
// independent of the CPU's SIMD variant (model/exact_math.h).
// x: (N, C) in the compute dtype, weight: (V, C), targets: (N) int64.
torch::Tensor softcap_cross_entropy_per_token(const torch::Tensor& x, const torch::Tensor& weight,
                                              const torch::Tensor& targets, double cap);

// Mean loss over the counted targets, differentiable in x and weight. The gradients are
// computed chunk by chunk during the forward pass and handed out by backward.
torch::Tensor softcap_cross_entropy_mean(const torch::Tensor& x, const torch::Tensor& weight,
                                         const torch::Tensor& targets, double cap);

// The CPU loops over rows come in variants for what the CPU offers (x86-64: "x86-64-v3",
// "avx2", "default"); the best one the CPU runs is picked when the addon loads. Training's loss
// and gradients differ between variants in the last bits (FMA rounds differently); the
// evaluation's per-token losses are the same in every variant.
#if AUTORESEARCH_TESTING
// Test addon only, so that tests can check that the evaluations of all variants agree:
// The variants this build has and this CPU runs, best first.
std::vector<std::string> cpu_kernel_variants();
// The variant in use.
std::string cpu_kernel_variant();
// The evaluation's sum of exp(cap * tanh(u)) over one row (0 < cap <= 60), by the variant in
// use: what tests check against a double-precision computation.
double softcap_exp_sum_row(const float* u, int64_t V, double cap);
// Use another variant from now on (InvalidArgument if the build or CPU lacks it). Not to be
// called while a loss is being computed.
void set_cpu_kernel_variant(const std::string& name);
#endif

}  // namespace ar
