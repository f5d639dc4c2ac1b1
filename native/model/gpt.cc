#include "model/gpt.h"

#include <algorithm>
#include <cmath>

#include "model/attention.h"
#include "model/rms_norm.h"
#include "model/softcap_cross_entropy.h"

namespace ar {
namespace F = torch::nn::functional;

namespace {
constexpr int64_t kVeGateChannels = 32;

torch::nn::Linear make_linear(int64_t in, int64_t out) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false));
}
}  // namespace

AttentionImpl::AttentionImpl(const GPTConfig& cfg, bool has_ve) {
  int64_t D = cfg.head_dim();
  c_q = register_module("c_q", make_linear(cfg.n_embd, cfg.n_head * D));
  c_k = register_module("c_k", make_linear(cfg.n_embd, cfg.n_kv_head * D));
  c_v = register_module("c_v", make_linear(cfg.n_embd, cfg.n_kv_head * D));
  c_proj = register_module("c_proj", make_linear(cfg.n_head * D, cfg.n_embd));
  if (has_ve) ve_gate = register_module("ve_gate", make_linear(kVeGateChannels, cfg.n_kv_head));
}

MLPImpl::MLPImpl(const GPTConfig& cfg) {
  int64_t hidden = cfg.mlp_hidden();
  c_fc = register_module("c_fc", make_linear(cfg.n_embd, hidden));
  if (cfg.mlp_activation == "swiglu") c_gate = register_module("c_gate", make_linear(cfg.n_embd, hidden));
  c_proj = register_module("c_proj", make_linear(hidden, cfg.n_embd));
}

BlockImpl::BlockImpl(const GPTConfig& cfg, int64_t layer) {
  attn = register_module("attn", Attention(cfg, cfg.has_value_embed(layer)));
  mlp = register_module("mlp", MLP(cfg));
}

TransformerImpl::TransformerImpl(const GPTConfig& cfg) {
  wte = register_module("wte", torch::nn::Embedding(cfg.vocab_size, cfg.n_embd));
  h = register_module("h", torch::nn::ModuleList());
  for (int64_t i = 0; i < cfg.n_layer; i++) h->push_back(Block(cfg, i));
}

GPT::GPT(const GPTConfig& cfg, const DeviceChoice& device) : cfg_(cfg), device_(device) {
  cfg_.validate();
  transformer_ = register_module("transformer", Transformer(cfg_));
  lm_head_ = register_module("lm_head", make_linear(cfg_.n_embd, cfg_.vocab_size));
  int64_t kv_dim = cfg_.n_kv_head * cfg_.head_dim();
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> tables;
  for (int64_t i = 0; i < cfg_.n_layer; i++) {
    if (cfg_.has_value_embed(i)) tables.emplace_back(std::to_string(i), torch::nn::Embedding(cfg_.vocab_size, kv_dim).ptr());
  }
  value_embeds_ = register_module("value_embeds", torch::nn::ModuleDict(tables));
  resid_lambdas_ = register_parameter("resid_lambdas", torch::ones({cfg_.n_layer}));
  x0_lambdas_ = register_parameter("x0_lambdas", torch::full({cfg_.n_layer}, 0.1));
  to(device_.device);
  rotary_ = make_rotary_tables(10 * cfg_.sequence_len, cfg_.head_dim(), cfg_.rotary_base, device_.device,
                               device_.compute_dtype);
  init_weights();
}

void GPT::init_weights() {
  torch::NoGradGuard no_grad;
  double s = std::sqrt(3.0) / std::sqrt(static_cast<double>(cfg_.n_embd));
  transformer_->wte->weight.normal_(0.0, 1.0);
  lm_head_->weight.normal_(0.0, 0.001);
  for (auto& module : *transformer_->h) {
    auto block = module->as<BlockImpl>();
    auto& a = block->attn;
    for (auto* w : {&a->c_q->weight, &a->c_k->weight, &a->c_v->weight}) w->uniform_(-s, s);
    a->c_proj->weight.zero_();
    if (!a->ve_gate.is_empty()) a->ve_gate->weight.zero_();
    block->mlp->c_fc->weight.uniform_(-s, s);
    if (!block->mlp->c_gate.is_empty()) block->mlp->c_gate->weight.uniform_(-s, s);
    block->mlp->c_proj->weight.zero_();
  }
  resid_lambdas_.fill_(1.0);
  x0_lambdas_.fill_(0.1);
  for (auto& ve : value_embed_weights()) ve.uniform_(-s, s);
  // Embedding tables are stored in bf16 on CUDA (they are the largest, read sparsely).
  if (device_.embedding_dtype != torch::kFloat32) {
    transformer_->wte->weight.set_data(transformer_->wte->weight.to(device_.embedding_dtype));
    for (auto& ve : value_embed_weights()) ve.set_data(ve.to(device_.embedding_dtype));
  }
}

std::vector<torch::Tensor> GPT::value_embed_weights() const {
  std::vector<torch::Tensor> out;
  for (const auto& item : value_embeds_->items()) out.push_back(item.second->as<torch::nn::EmbeddingImpl>()->weight);
  return out;
}

std::vector<torch::Tensor> GPT::block_matrices() const {
  std::vector<torch::Tensor> out;
  for (const auto& p : transformer_->h->parameters()) out.push_back(p);
  return out;
}

torch::Tensor GPT::linear(const torch::Tensor& x, const torch::nn::Linear& layer) const {
  // On CUDA this is what bf16 autocast does: bf16 inputs and weights, fp32 master weights.
  return F::linear(x, layer->weight.to(x.scalar_type()));
}

torch::Tensor GPT::attention(const Attention& attn, const torch::Tensor& x, const torch::Tensor& ve, int64_t layer) {
  int64_t B = x.size(0), T = x.size(1), H = cfg_.n_head, Hkv = cfg_.n_kv_head, D = cfg_.head_dim();
  auto q = linear(x, attn->c_q).view({B, T, H, D});
  auto k = linear(x, attn->c_k).view({B, T, Hkv, D});
  auto v = linear(x, attn->c_v).view({B, T, Hkv, D});
  if (ve.defined()) {
    // Value residual: v += 2 sigmoid(x[..., :32] Wgate) * ve, one gate per kv head.
    auto gate = 2.0 * torch::sigmoid(linear(x.narrow(-1, 0, kVeGateChannels), attn->ve_gate));  // (B, T, Hkv)
    v = v + gate.unsqueeze(-1) * ve.view({B, T, Hkv, D});
  }
  q = rms_norm(apply_rotary(q, rotary_));
  k = rms_norm(apply_rotary(k, rotary_));
  auto y = causal_window_attention(q, k, v, cfg_.windows[layer]);  // (B, T, H, D)
  return linear(y.reshape({B, T, H * D}), attn->c_proj);
}

torch::Tensor GPT::mlp(const MLP& m, const torch::Tensor& x) {
  auto h = linear(x, m->c_fc);
  if (cfg_.mlp_activation == "relu2") {
    h = torch::relu(h).square();
  } else if (cfg_.mlp_activation == "swiglu") {
    h = F::silu(linear(x, m->c_gate)) * h;
  } else {
    h = F::gelu(h);
  }
  return linear(h, m->c_proj);
}

torch::Tensor GPT::hidden(const torch::Tensor& idx) {
  auto x = rms_norm(F::embedding(idx, transformer_->wte->weight).to(device_.compute_dtype));  // (B, T, C)
  auto x0 = x;
  for (int64_t i = 0; i < cfg_.n_layer; i++) {
    auto block = transformer_->h[i]->as<BlockImpl>();
    x = resid_lambdas_[i] * x + x0_lambdas_[i] * x0;
    torch::Tensor ve;
    if (cfg_.has_value_embed(i)) {
      auto table = value_embeds_[std::to_string(i)]->as<torch::nn::EmbeddingImpl>()->weight;
      ve = F::embedding(idx, table).to(device_.compute_dtype);  // (B, T, Hkv * D)
    }
    x = x + attention(block->attn, rms_norm(x), ve, i);
    x = x + mlp(block->mlp, rms_norm(x));
  }
  return rms_norm(x);
}

torch::Tensor GPT::logits_from_hidden(const torch::Tensor& x) {
  auto logits = linear(x, lm_head_).to(torch::kFloat32);
  if (cfg_.softcap > 0) logits = cfg_.softcap * torch::tanh(logits / cfg_.softcap);
  return logits;
}

torch::Tensor GPT::forward(const torch::Tensor& idx) { return logits_from_hidden(hidden(idx)); }

torch::Tensor GPT::loss(const torch::Tensor& idx, const torch::Tensor& targets, bool per_token) {
  auto x = hidden(idx).reshape({-1, cfg_.n_embd});  // (B*T, C)
  auto flat_targets = targets.reshape({-1});
  if (!torch::GradMode::is_enabled()) {
    auto losses = softcap_cross_entropy_per_token(x, lm_head_->weight, flat_targets, cfg_.softcap);
    return per_token ? losses.view(targets.sizes()) : losses.sum() / flat_targets.ge(0).sum();
  }
  if (!per_token) return softcap_cross_entropy_mean(x, lm_head_->weight, flat_targets, cfg_.softcap);
  // Per-token losses with grad (nothing in the trainer asks for these): through the full logits.
  auto opts = F::CrossEntropyFuncOptions().ignore_index(-1).reduction(torch::kNone);
  return F::cross_entropy(logits_from_hidden(x), flat_targets, opts).view(targets.sizes());
}

ParamCounts GPT::param_counts() const {
  ParamCounts c;
  c.wte = transformer_->wte->weight.numel();
  for (const auto& ve : value_embed_weights()) c.value_embeds += ve.numel();
  c.lm_head = lm_head_->weight.numel();
  for (const auto& m : block_matrices()) c.transformer_matrices += m.numel();
  c.scalars = resid_lambdas_.numel() + x0_lambdas_.numel();
  c.total = c.wte + c.value_embeds + c.lm_head + c.transformer_matrices + c.scalars;
  return c;
}

double GPT::flops_per_token() const {
  auto c = param_counts();
  double dense = 6.0 * static_cast<double>(c.total - c.wte - c.value_embeds - c.scalars);
  double attn = 0;
  for (int64_t w : cfg_.windows) {
    attn += 12.0 * cfg_.n_head * cfg_.head_dim() * static_cast<double>(std::min(w, cfg_.sequence_len));
  }
  return dense + attn;
}

}  // namespace ar
