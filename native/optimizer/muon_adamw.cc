#include "optimizer/muon_adamw.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "optimizer/polar_express.h"

namespace ar {

void adamw_update_(torch::Tensor p, const torch::Tensor& g, torch::Tensor m, torch::Tensor v, int64_t step, double lr,
                   double beta1, double beta2, double eps, double weight_decay) {
  if (weight_decay != 0) p.mul_(1.0 - lr * weight_decay);
  m.lerp_(g, 1.0 - beta1);
  v.lerp_(g.square(), 1.0 - beta2);
  double bias1 = 1.0 - std::pow(beta1, static_cast<double>(step));
  double bias2 = 1.0 - std::pow(beta2, static_cast<double>(step));
  auto denom = (v / bias2).sqrt_().add_(eps);
  p.addcdiv_(m, denom, -lr / bias1);
}

void muon_update_(torch::Tensor P, torch::Tensor G, torch::Tensor M, torch::Tensor S, double lr, double momentum,
                  double weight_decay, double beta2, int ns_steps, torch::Dtype ortho_dtype) {
  // 1. Nesterov momentum.
  M.lerp_(G, 1.0 - momentum);
  G.lerp_(M, momentum);
  // 2. Orthogonalise.
  auto X = polar_express(G, ns_steps, ortho_dtype).to(torch::kFloat32);  // (N, r, c)
  int64_t rows = X.size(-2), cols = X.size(-1);
  // 3. NorMuon: per-row (or per-column) second moment, renormalised to keep the update norm.
  int64_t red = rows >= cols ? -1 : -2;
  double n = static_cast<double>(X.size(red));
  auto vm = X.square().mean(red, /*keepdim=*/true);                    // (N, r, 1) or (N, 1, c)
  auto vn = (vm.sum({-2, -1}, /*keepdim=*/true) * n).sqrt();           // (N, 1, 1)
  S.lerp_(vm, 1.0 - beta2);
  auto st = S.clamp_min(1e-10).rsqrt();
  auto vn_new = (vm * n * st.square()).sum({-2, -1}, /*keepdim=*/true).sqrt();
  X = X * (st * (vn / vn_new.clamp_min(1e-10)));
  // 4. Shape-scaled lr and cautious weight decay (only where update and weight agree in sign).
  double lr_eff = lr * std::sqrt(std::max(1.0, static_cast<double>(rows) / static_cast<double>(cols)));
  X = X.to(P.scalar_type());
  auto mask = (X * P).ge(0).to(P.scalar_type());
  P.sub_(lr_eff * X + (lr_eff * weight_decay) * P * mask);
}

MuonAdamW::MuonAdamW(GPT& model, const OptimizerConfig& cfg)
    : cfg_(cfg), ortho_dtype_(model.device().device.is_cuda() ? torch::kBFloat16 : torch::kFloat32) {
  double k = std::pow(static_cast<double>(model.config().n_embd) / 768.0, -0.5);
  add_adam("lm_head", {model.lm_head_weight()}, cfg.unembedding_lr * k, cfg.beta1, cfg.beta2);
  add_adam("wte", {model.wte_weight()}, cfg.embedding_lr * k, cfg.beta1, cfg.beta2);
  add_adam("value_embeds", model.value_embed_weights(), cfg.embedding_lr * k, cfg.beta1, cfg.beta2);
  add_adam("resid_lambdas", {model.resid_lambdas()}, cfg.scalar_lr * 0.01, cfg.beta1, cfg.beta2);
  add_adam("x0_lambdas", {model.x0_lambdas()}, cfg.scalar_lr, 0.96, 0.95);

  std::map<std::vector<int64_t>, std::vector<torch::Tensor>> by_shape;  // sorted by shape, as the reference
  for (auto& p : model.block_matrices()) by_shape[p.sizes().vec()].push_back(p);
  for (auto& [shape, params] : by_shape) {
    MuonGroup g;
    g.params = params;
    g.initial_lr = cfg.matrix_lr;
    int64_t N = static_cast<int64_t>(params.size()), r = shape[0], c = shape[1];
    auto opts = params[0].options().requires_grad(false);
    g.momentum = torch::zeros({N, r, c}, opts);
    g.second_moment = r >= c ? torch::zeros({N, r, 1}, opts.dtype(torch::kFloat32))
                             : torch::zeros({N, 1, c}, opts.dtype(torch::kFloat32));
    muon_.push_back(std::move(g));
  }
}

void MuonAdamW::add_adam(const std::string& name, std::vector<torch::Tensor> params, double lr, double beta1,
                         double beta2) {
  if (params.empty()) return;  // e.g. value embeddings turned off
  AdamGroup g{name, params, {}, {}, std::vector<int64_t>(params.size(), 0), lr, beta1, beta2};
  for (auto& p : params) {
    g.m.push_back(torch::zeros_like(p).set_requires_grad(false));
    g.v.push_back(torch::zeros_like(p).set_requires_grad(false));
  }
  adam_.push_back(std::move(g));
}

void MuonAdamW::step(const StepSettings& s) {
  torch::NoGradGuard no_grad;
  steps_++;
  for (auto& g : adam_) {
    double lr = g.initial_lr * s.lr_multiplier;
    for (size_t i = 0; i < g.params.size(); i++) {
      const auto& grad = g.params[i].grad();
      if (!grad.defined()) continue;
      adamw_update_(g.params[i], grad, g.m[i], g.v[i], ++g.steps[i], lr, g.beta1, g.beta2, cfg_.adam_eps, 0.0);
    }
  }
  for (auto& g : muon_) {
    // The matrices of a group that have gradients, stepped as one stack. Every part of the
    // update is per matrix (its norm, its orthogonalisation, its NorMuon statistics), so
    // leaving a matrix out changes nothing for the others.
    std::vector<int64_t> live;
    std::vector<torch::Tensor> grads, params;
    for (size_t i = 0; i < g.params.size(); i++) {
      if (!g.params[i].grad().defined()) continue;
      live.push_back(static_cast<int64_t>(i));
      grads.push_back(g.params[i].grad());
      params.push_back(g.params[i].detach());
    }
    if (live.empty()) continue;
    auto G = torch::stack(grads);
    auto P = torch::stack(params);
    const double lr = g.initial_lr * s.lr_multiplier;
    if (live.size() == g.params.size()) {
      muon_update_(P, G, g.momentum, g.second_moment, lr, s.muon_momentum, s.muon_weight_decay, cfg_.muon_beta2,
                   cfg_.ns_steps, ortho_dtype_);
    } else {
      auto index = torch::tensor(live, torch::TensorOptions().dtype(torch::kLong).device(P.device()));
      auto M = g.momentum.index_select(0, index), S = g.second_moment.index_select(0, index);
      muon_update_(P, G, M, S, lr, s.muon_momentum, s.muon_weight_decay, cfg_.muon_beta2, cfg_.ns_steps, ortho_dtype_);
      g.momentum.index_copy_(0, index, M);
      g.second_moment.index_copy_(0, index, S);
    }
    for (size_t k = 0; k < live.size(); k++) g.params[static_cast<size_t>(live[k])].detach().copy_(P[static_cast<int64_t>(k)]);
  }
}

void MuonAdamW::zero_grad() {
  auto clear = [](torch::Tensor& p) {
    if (p.grad().defined()) p.mutable_grad().reset();
  };
  for (auto& g : adam_) for (auto& p : g.params) clear(p);
  for (auto& g : muon_) for (auto& p : g.params) clear(p);
}

std::vector<MuonAdamW::GroupInfo> MuonAdamW::groups() const {
  std::vector<GroupInfo> out;
  for (const auto& g : adam_) {
    out.push_back({"adamw", g.name, g.initial_lr, static_cast<int64_t>(g.params.size()), {}, g.beta1, g.beta2, cfg_.adam_eps});
  }
  for (const auto& g : muon_) {
    auto shape = g.params[0].sizes().vec();
    out.push_back({"muon", "matrices " + std::to_string(shape[0]) + "x" + std::to_string(shape[1]), g.initial_lr,
                   static_cast<int64_t>(g.params.size()), shape, 0.0, cfg_.muon_beta2, 0.0});
  }
  return out;
}

}  // namespace ar
