// The GPT of SPEC §4, nanochat-style: RMS norm without weights, rotary + QK-norm, GQA,
// value embeddings with input-dependent gates on alternating layers (last included),
// per-layer sliding windows, ReLU^2 MLP (or SwiGLU / GELU), residual and x0 lambdas, untied
// head, fp32 logits with a tanh soft-cap. Parameter names follow the reference so that
// checkpoints load into a PyTorch implementation of the same model.
//
// Read top to bottom: the config (GPTConfig), the modules that hold the weights, then GPT.
// The code is in gpt.cc; attention.h (windowed attention) and softcap_cross_entropy.h (the
// chunked head + loss) are the two pieces big enough for their own files.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "runtime/device.h"

namespace ar {

enum class MlpActivation { ReLU2, SwiGLU, GELU };

// "relu2" | "swiglu" | "gelu", as the JavaScript side names them; InvalidArgument otherwise.
MlpActivation parse_mlp_activation(const std::string& name);

// The model's shape and its architecture options, validated before any tensor exists. Every
// field comes from JavaScript (lib/model-config.ts resolves sizing and window patterns): the
// struct has no defaults of its own.
struct GPTConfig {
  int64_t vocab_size;
  int64_t sequence_len;
  int64_t n_layer;
  int64_t n_head;
  int64_t n_kv_head;             // GQA when smaller; must divide n_head
  int64_t n_embd;                // model_dim = n_head * head_dim
  std::vector<int64_t> windows;  // per layer: query i sees keys i - window .. i
  MlpActivation mlp_activation;
  double mlp_ratio;              // hidden = mlp_ratio * n_embd
  bool value_embeds;             // value embeddings on alternating layers (last included)
  double softcap;                // logits = softcap * tanh(logits / softcap); <= 0 turns it off
  double rotary_base;

  int64_t head_dim() const { return n_embd / n_head; }
  int64_t mlp_hidden() const;
  bool has_value_embed(int64_t layer) const;

  // Throws InvalidArgument naming the inconsistent setting and what would work.
  void validate() const;
};

struct AttentionImpl : torch::nn::Module {
  AttentionImpl(const GPTConfig& cfg, bool has_ve);
  torch::nn::Linear c_q{nullptr}, c_k{nullptr}, c_v{nullptr}, c_proj{nullptr}, ve_gate{nullptr};
};
TORCH_MODULE(Attention);

struct MLPImpl : torch::nn::Module {
  explicit MLPImpl(const GPTConfig& cfg);
  torch::nn::Linear c_fc{nullptr}, c_gate{nullptr}, c_proj{nullptr};  // c_gate only for SwiGLU
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

// Parameter counts in the reference's breakdown, counted on the model's tensors. (The
// formulas for a config, and the FLOPs per token, are in lib/gpt.ts.)
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
  // Mean cross entropy over the targets that are not -1, differentiable: the training loss.
  // The head and loss run in chunks of rows (softcap_cross_entropy.h).
  torch::Tensor loss(const torch::Tensor& idx, const torch::Tensor& targets);
  // Cross entropy per token (B, T), 0 where the target is -1, without autograd: what the
  // scorer (eval/scorer.h) sums.
  torch::Tensor per_token_loss(const torch::Tensor& idx, const torch::Tensor& targets);

  ParamCounts param_counts() const;

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
  torch::Tensor rotate(const torch::Tensor& x) const;
  torch::Tensor attention(const Attention& attn, const torch::Tensor& x, const torch::Tensor& ve, int64_t layer);
  torch::Tensor mlp(const MLP& m, const torch::Tensor& x);
  torch::Tensor hidden(const torch::Tensor& idx);  // final normed hidden states (B, T, C)

  GPTConfig cfg_;
  DeviceChoice device_;
  Transformer transformer_{nullptr};
  torch::nn::Linear lm_head_{nullptr};
  torch::nn::ModuleDict value_embeds_{nullptr};
  torch::Tensor resid_lambdas_, x0_lambdas_;
  torch::Tensor rotary_cos_, rotary_sin_;  // (1, L, 1, D/2) each, L = 10 x sequence_len
};

}  // namespace ar
