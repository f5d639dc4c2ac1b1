// MuonAdamW (SPEC §5): AdamW with bias correction for the embeddings, the head and the two
// lambda vectors; Muon for every matrix inside the blocks, stacked per shape and stepped as
// one tensor: Nesterov momentum, Polar Express orthogonalisation, NorMuon variance reduction,
// shape-scaled learning rate and cautious weight decay. The schedules live in TypeScript:
// lr multiplier, Muon momentum and Muon weight decay are passed to every step().
// A parameter that got no gradient since the last step is skipped, as PyTorch's optimizers
// skip `p.grad is None`: its weights, its optimizer state and its AdamW step count (bias
// correction) stay as they are. Stepping it with a zero gradient instead would keep moving it
// with the momentum of earlier steps and shrink it by Muon's weight decay.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "model/gpt.h"

namespace ar {

// Every field comes from JavaScript (lib/optimizer.ts holds the values): no defaults here.
struct OptimizerConfig {
  double embedding_lr;    // wte and value embeddings (times (model_dim/768)^-0.5)
  double unembedding_lr;  // lm_head (times (model_dim/768)^-0.5)
  double matrix_lr;       // Muon groups
  double scalar_lr;       // x0_lambdas; resid_lambdas get 1% of it
  double weight_decay;    // Muon weight decay before scheduling
  double beta1, beta2;    // AdamW betas (x0_lambdas use 0.96, 0.95)
  double adam_eps;
  double muon_beta2;      // NorMuon second-moment decay
  int ns_steps;           // Polar Express iterations
};

// The schedule values of one step, computed in TypeScript.
struct StepSettings {
  double lr_multiplier;
  double muon_momentum;
  double muon_weight_decay;
};

// One AdamW update of p in place (SPEC §5); step counts from 1.
void adamw_update_(torch::Tensor p, const torch::Tensor& g, torch::Tensor m, torch::Tensor v, int64_t step, double lr,
                   double beta1, double beta2, double eps, double weight_decay);

// One Muon update of stacked parameters P (N, rows, cols) from stacked gradients G (modified),
// momentum buffer M (N, rows, cols) and NorMuon second moment S ((N, rows, 1) if rows >= cols,
// else (N, 1, cols)). lr is the group's lr before the shape scaling.
void muon_update_(torch::Tensor P, torch::Tensor G, torch::Tensor M, torch::Tensor S, double lr, double momentum,
                  double weight_decay, double beta2, int ns_steps, torch::Dtype ortho_dtype);

class MuonAdamW {
 public:
  MuonAdamW(GPT& model, const OptimizerConfig& cfg);

  void step(const StepSettings& settings);
  void zero_grad();
  // step() calls so far (a parameter's own AdamW count can be lower: see above).
  int64_t steps() const { return steps_; }

  struct GroupInfo {
    std::string kind;  // adamw | muon
    std::string name;
    double initial_lr;
    int64_t tensors;
    std::vector<int64_t> shape;  // muon: the shared matrix shape
    double beta1 = 0, beta2 = 0;  // adamw: its betas; muon: beta2 is NorMuon's (beta1 unused, 0)
    double eps = 0;               // adamw
  };
  std::vector<GroupInfo> groups() const;

 private:
  struct AdamGroup {
    std::string name;
    std::vector<torch::Tensor> params, m, v;
    std::vector<int64_t> steps;  // per parameter: the steps in which it had a gradient
    double initial_lr, beta1, beta2;
  };
  struct MuonGroup {
    std::vector<torch::Tensor> params;
    torch::Tensor momentum, second_moment;
    double initial_lr;
  };
  void add_adam(const std::string& name, std::vector<torch::Tensor> params, double lr, double beta1, double beta2);

  OptimizerConfig cfg_;
  torch::Dtype ortho_dtype_;
  std::vector<AdamGroup> adam_;
  std::vector<MuonGroup> muon_;
  int64_t steps_ = 0;
};

}  // namespace ar
