// The GPT of SPEC §4, nanochat-style: RMS norm without weights, rotary + QK-norm, GQA,
// value embeddings with input-dependent gates on alternating layers (last included),
// per-layer sliding windows, ReLU^2 MLP (or SwiGLU / GELU), residual and x0 lambdas, untied
// head, fp32 logits with a tanh soft-cap. Parameter names follow the reference so that
// checkpoints load into a PyTorch implementation of the same model.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "runtime/device.h"
#include "model/gpt_config.h"
#include "model/rotary.h"

namespace ar {

struct AttentionImpl : torch::nn::Module {
  AttentionImpl(const GPTConfig& cfg, bool has_ve);
  torch::nn::Linear c_q{nullptr}, c_k{nullptr}, c_v{nullptr}, c_proj{nullptr}, ve_gate{nullptr};
};
TORCH_MODULE(Attention);

struct MLPImpl : torch::nn::Module {
  explicit MLPImpl(const GPTConfig& cfg);
  torch::nn::Linear c_fc{nullptr}, c_gate{nullptr}, c_proj{nullptr};  // c_gate only for swiglu
};
TORCH_MODULE(MLP);

struct BlockImpl : torch::nn::Module {
  BlockImpl(const GPTConfig& cfg, int64_t layer);
  Attention attn{nullptr};
  MLP mlp{nullptr};
};
TORCH_MODULE(Block);

struct TransformerImpl : torch::nn::Module {
  explicit TransformerImpl(const GPTConfig& cfg);
  torch::nn::Embedding wte{nullptr};
  torch::nn::ModuleList h{nullptr};
};
TORCH_MODULE(Transformer);

// Parameter counts in the reference's breakdown.
struct ParamCounts {
  int64_t wte = 0, value_embeds = 0, lm_head = 0, transformer_matrices = 0, scalars = 0, total = 0;
};

class GPT : public torch::nn::Module {
 public:
  GPT(const GPTConfig& cfg, const DeviceChoice& device);

  // SPEC initialisation. Draws from libtorch's global generator (seed it first).
  void init_weights();

  // idx: (B, T) int64 -> logits (B, T, V) in fp32, soft-capped.
  torch::Tensor forward(const torch::Tensor& idx);
  // Cross entropy with ignore index -1: mean over counted tokens, or per token (B, T); the head
  // and loss run in chunks of rows (softcap_cross_entropy.h).
  torch::Tensor loss(const torch::Tensor& idx, const torch::Tensor& targets, bool per_token);

  ParamCounts param_counts() const;
  // 6 * (params - wte - value embeds - lambdas) + sum over layers of 12 * H * D * min(window, T).
  double flops_per_token() const;

  const GPTConfig& config() const { return cfg_; }
  const DeviceChoice& device() const { return device_; }

  // Handles used by the optimizer to form its parameter groups.
  torch::Tensor wte_weight() const { return transformer_->wte->weight; }
  torch::Tensor lm_head_weight() const { return lm_head_->weight; }
  std::vector<torch::Tensor> value_embed_weights() const;
  torch::Tensor resid_lambdas() const { return resid_lambdas_; }
  torch::Tensor x0_lambdas() const { return x0_lambdas_; }
  std::vector<torch::Tensor> block_matrices() const;

 private:
  torch::Tensor linear(const torch::Tensor& x, const torch::nn::Linear& layer) const;
  torch::Tensor attention(const Attention& attn, const torch::Tensor& x, const torch::Tensor& ve, int64_t layer);
  torch::Tensor mlp(const MLP& m, const torch::Tensor& x);
  torch::Tensor hidden(const torch::Tensor& idx);  // final normed hidden states (B, T, C)
  torch::Tensor logits_from_hidden(const torch::Tensor& x);

  GPTConfig cfg_;
  DeviceChoice device_;
  Transformer transformer_{nullptr};
  torch::nn::Linear lm_head_{nullptr};
  torch::nn::ModuleDict value_embeds_{nullptr};
  torch::Tensor resid_lambdas_, x0_lambdas_;
  RotaryTables rotary_;
};

}  // namespace ar
