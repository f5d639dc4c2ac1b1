#include "model/gpt.h"

#include <cmath>
#include <limits>
#include <sstream>

#include "model/attention.h"
#include "model/softcap_cross_entropy.h"
#include "runtime/errors.h"

namespace ar {
namespace F = torch::nn::functional;

// ---- The config ----

MlpActivation parse_mlp_activation(const std::string& name) {
  if (name == "relu2") return MlpActivation::ReLU2;
  if (name == "swiglu") return MlpActivation::SwiGLU;
  if (name == "gelu") return MlpActivation::GELU;
  throw InvalidArgument("invalid model config: mlp_activation must be relu2, swiglu or gelu (got '" + name + "')");
}

int64_t GPTConfig::mlp_hidden() const {
  return static_cast<int64_t>(std::llround(mlp_ratio * static_cast<double>(n_embd)));
}

bool GPTConfig::has_value_embed(int64_t layer) const {
  return value_embeds && layer % 2 == (n_layer - 1) % 2;
}

void GPTConfig::validate() const {
  auto fail = [](const std::string& msg) { throw InvalidArgument("invalid model config: " + msg); };
  if (vocab_size < 2) fail("vocab_size must be at least 2 (got " + std::to_string(vocab_size) + ")");
  if (sequence_len < 1) fail("sequence_len must be positive (got " + std::to_string(sequence_len) + ")");
  if (n_layer < 1) fail("n_layer (DEPTH) must be at least 1 (got " + std::to_string(n_layer) + ")");
  if (n_head < 1) fail("n_head must be at least 1 (got " + std::to_string(n_head) + ")");
  if (n_embd < 1) fail("n_embd must be positive (got " + std::to_string(n_embd) + ")");
  if (n_embd % n_head != 0) {
    std::ostringstream s;
    s << "n_head " << n_head << " does not divide model_dim " << n_embd << "; choose a model_dim that is a multiple of "
      << "the head count, e.g. " << (n_embd / n_head + 1) * n_head;
    fail(s.str());
  }
  if (head_dim() % 2 != 0) fail("head_dim " + std::to_string(head_dim()) + " must be even for rotary embeddings");
  if (n_kv_head < 1 || n_head % n_kv_head != 0) {
    fail("n_kv_head " + std::to_string(n_kv_head) + " must divide n_head " + std::to_string(n_head) +
         " (e.g. 1 or " + std::to_string(n_head) + ")");
  }
  if (static_cast<int64_t>(windows.size()) != n_layer) {
    fail("expected one attention window per layer (" + std::to_string(n_layer) + "), got " +
         std::to_string(windows.size()));
  }
  for (size_t i = 0; i < windows.size(); i++) {
    if (windows[i] < 1) fail("window of layer " + std::to_string(i) + " must be at least 1 token");
  }
  if (!(mlp_ratio > 0) || mlp_hidden() < 1) fail("mlp_ratio must be positive");
  if (value_embeds && n_embd < 32) fail("value embeddings gate on the first 32 channels: model_dim must be >= 32");
  if (!std::isfinite(softcap)) fail("softcap must be a finite number (<= 0 turns it off)");
  if (!(rotary_base > 1)) fail("rotary_base must be greater than 1");
}

// ---- The modules ----

namespace {
constexpr int64_t kVeGateChannels = 32;

torch::nn::Linear make_linear(int64_t in, int64_t out) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false));
}

// norm(x): RMS norm over the last dimension with no learned weight (SPEC §4), eps = the
// dtype's machine epsilon as in F.rms_norm(x, (x.size(-1),)).
torch::Tensor rms_norm(const torch::Tensor& x) {
  double eps = x.scalar_type() == torch::kBFloat16 ? 0.0078125 : std::numeric_limits<float>::epsilon();
  return x * torch::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true) + eps);
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
  if (cfg.mlp_activation == MlpActivation::SwiGLU) c_gate = register_module("c_gate", make_linear(cfg.n_embd, hidden));
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

// ---- The model ----

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
  // Rotary position embedding (SPEC §4): inverse frequencies 1 / base^(2j / head_dim), tables
  // for 10 x sequence_len positions, as in the reference.
  auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device_.device);
  auto inv_freq = 1.0 / torch::pow(cfg_.rotary_base, torch::arange(0, cfg_.head_dim(), 2, f32) / cfg_.head_dim());
  auto freqs = torch::outer(torch::arange(10 * cfg_.sequence_len, f32), inv_freq);  // (L, D/2)
  rotary_cos_ = freqs.cos().to(device_.compute_dtype).unsqueeze(0).unsqueeze(2);
  rotary_sin_ = freqs.sin().to(device_.compute_dtype).unsqueeze(0).unsqueeze(2);
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

// x: (B, T, H, D) -> the same rotated, half-split layout: y1 = x1 cos + x2 sin,
// y2 = -x1 sin + x2 cos, with the tables cut to the first T positions.
torch::Tensor GPT::rotate(const torch::Tensor& x) const {
  int64_t T = x.size(1), half = x.size(3) / 2;
  auto cos = rotary_cos_.narrow(1, 0, T);
  auto sin = rotary_sin_.narrow(1, 0, T);
  auto x1 = x.narrow(3, 0, half);
  auto x2 = x.narrow(3, half, half);
  return torch::cat({x1 * cos + x2 * sin, x2 * cos - x1 * sin}, 3);
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
  q = rms_norm(rotate(q));
  k = rms_norm(rotate(k));
  auto y = causal_window_attention(q, k, v, cfg_.windows[layer]);  // (B, T, H, D)
  return linear(y.reshape({B, T, H * D}), attn->c_proj);
}

torch::Tensor GPT::mlp(const MLP& m, const torch::Tensor& x) {
  auto h = linear(x, m->c_fc);
  switch (cfg_.mlp_activation) {
    case MlpActivation::ReLU2:
      h = torch::relu(h).square();
      break;
    case MlpActivation::SwiGLU:
      h = F::silu(linear(x, m->c_gate)) * h;
      break;
    case MlpActivation::GELU:
      h = F::gelu(h);
      break;
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

torch::Tensor GPT::forward(const torch::Tensor& idx) {
  auto logits = linear(hidden(idx), lm_head_).to(torch::kFloat32);
  if (cfg_.softcap > 0) logits = cfg_.softcap * torch::tanh(logits / cfg_.softcap);
  return logits;
}

torch::Tensor GPT::loss(const torch::Tensor& idx, const torch::Tensor& targets) {
  auto x = hidden(idx).reshape({-1, cfg_.n_embd});  // (B*T, C)
  return softcap_cross_entropy_mean(x, lm_head_->weight, targets.reshape({-1}), cfg_.softcap);
}

torch::Tensor GPT::per_token_loss(const torch::Tensor& idx, const torch::Tensor& targets) {
  torch::NoGradGuard no_grad;
  auto x = hidden(idx).reshape({-1, cfg_.n_embd});  // (B*T, C)
  return softcap_cross_entropy_per_token(x, lm_head_->weight, targets.reshape({-1}), cfg_.softcap).view(targets.sizes());
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

}  // namespace ar
