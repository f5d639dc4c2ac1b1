#include "softcap_cross_entropy.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>

#include "fast_math.h"

namespace ar {
namespace {

// Rows per chunk: the evaluation's 64 x V fp32 logits are 2 MB at V 8192 (L2; 32-256 rows
// measured within 5%). Training keeps a few n x V temporaries per chunk and accumulates the
// weight gradient once per chunk, so it takes more rows (512 measured a little faster than 256).
constexpr int64_t kEvalRows = 64;
constexpr int64_t kTrainRows = 512;

// With |s| <= cap <= 60 the exponentials cannot overflow fp32 (V * e^cap): no max pass needed.
bool bounded(double cap) { return cap > 0 && cap <= 60; }

// The head's weight w (already in the compute dtype: bf16 on CUDA, as autocast does) divided
// by the soft-cap, so that the matmul yields z / cap directly (one pass fewer).
torch::Tensor scaled_by_cap(const torch::Tensor& w, double cap) { return cap > 0 ? w / cap : w; }

// The evaluation's CPU fast path (fp32, cap <= 60): one pass over each row of u = z / cap
// computes the soft-cap, the exponentials and their sum, 8 floats at a time
// (native/fast_math.h), instead of a libtorch operation and a trip through memory per step:
// ~13% off an evaluation batch at width 128, vocab 8192. (The same for training's gradient
// measured slower than libtorch's tanh and tanh_backward, so training keeps those.) x86-64
// builds also get an AVX2 clone, picked at load time when the CPU has it.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define AR_CPU_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define AR_CPU_CLONES
#endif

// sum over the row of exp(cap * tanh(u)).
AR_CPU_CLONES float softcap_exp_sum(const float* u, int64_t V, float cap) {
  float8 acc{};
  int64_t v = 0;
  for (; v + 8 <= V; v += 8) acc += fast_exp8(cap * fast_tanh8(load8(u + v, 8)));
  float sum = 0;
  for (int l = 0; l < 8; l++) sum += acc[l];
  if (v < V) {
    float8 tail = fast_exp8(cap * fast_tanh8(load8(u + v, V - v)));
    for (int64_t l = 0; l < V - v; l++) sum += tail[l];
  }
  return sum;
}

bool cpu_fast_path(const torch::Tensor& u, double cap) {
  return u.device().is_cpu() && u.scalar_type() == torch::kFloat32 && u.is_contiguous() && bounded(cap);
}

// Per-row losses of a chunk on the fast path: u (n, V) = z / cap, targets (n).
torch::Tensor fast_chunk_losses(const torch::Tensor& u, const torch::Tensor& targets, double cap) {
  const int64_t n = u.size(0), V = u.size(1);
  auto losses = torch::zeros({n}, u.options());
  const float* pu = u.data_ptr<float>();
  const int64_t* pt = targets.data_ptr<int64_t>();
  float* pl = losses.data_ptr<float>();
  const float c = static_cast<float>(cap);
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      if (pt[i] < 0) continue;
      pl[i] = std::log(softcap_exp_sum(pu + i * V, V, c)) - c * std::tanh(pu[i * V + pt[i]]);
    }
  });
  return losses;
}

struct SoftcapCrossEntropy : public torch::autograd::Function<SoftcapCrossEntropy> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& weight,
                               const torch::Tensor& targets, double cap) {
    const int64_t n_rows = x.size(0);
    auto w = weight.to(x.scalar_type());
    auto w_in = scaled_by_cap(w, cap);
    auto valid = targets.ge(0);
    auto safe = targets.clamp_min(0).unsqueeze(1);
    auto count = valid.sum().to(torch::kFloat32);  // a tensor: no device sync
    auto grad_x = torch::empty_like(x);
    auto grad_w = torch::zeros_like(weight, weight.options().dtype(torch::kFloat32));
    auto total = torch::zeros({}, x.options().dtype(torch::kFloat32));
    for (int64_t start = 0; start < n_rows; start += kTrainRows) {
      const int64_t n = std::min(kTrainRows, n_rows - start);
      auto xc = x.narrow(0, start, n);
      auto chunk_valid = valid.narrow(0, start, n);
      auto chunk_safe = safe.narrow(0, start, n);
      auto t = torch::mm(xc, w_in.t()).to(torch::kFloat32);  // (n, V): z / cap, or z without a cap
      auto s = t;
      if (cap > 0) s = t.tanh_() * cap;  // t keeps tanh(z / cap) for the gradient
      auto target_logit = s.gather(1, chunk_safe).squeeze(1);
      // Each counted row's gradient is (softmax(s) - onehot(target)) / count: `row` is the
      // 1 / count (0 for ignored rows), folded into the softmax's normalisation.
      auto row = chunk_valid.to(torch::kFloat32).div_(count).unsqueeze(1);
      torch::Tensor lse;
      if (bounded(cap)) {
        auto sum = s.exp_().sum(1, /*keepdim=*/true);
        lse = sum.log().squeeze(1);
        s.mul_(row / sum);
      } else {
        auto max_lse = torch::logsumexp(s, 1, /*keepdim=*/true);
        s.sub_(max_lse).exp_().mul_(row);
        lse = max_lse.squeeze(1);
      }
      total.add_(((lse - target_logit) * chunk_valid).sum());
      s.scatter_add_(1, chunk_safe, -row);               // dloss/ds
      auto g = cap > 0 ? torch::tanh_backward(s, t) : s;  // dloss/dz = dloss/ds * (1 - tanh^2)
      auto gc = g.to(x.scalar_type());
      grad_x.narrow(0, start, n).copy_(torch::mm(gc, w));
      if (grad_w.scalar_type() == gc.scalar_type()) {
        grad_w.addmm_(gc.t(), xc);
      } else {
        grad_w.add_(torch::mm(gc.t(), xc));
      }
    }
    ctx->saved_data["grad_x"] = grad_x;
    ctx->saved_data["grad_w"] = grad_w.to(weight.scalar_type());
    return total.div_(count);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grad_out) {
    const auto& scale = grad_out[0];
    return {ctx->saved_data["grad_x"].toTensor() * scale, ctx->saved_data["grad_w"].toTensor() * scale, torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

torch::Tensor softcap_cross_entropy_per_token(const torch::Tensor& x, const torch::Tensor& weight,
                                              const torch::Tensor& targets, double cap) {
  torch::NoGradGuard no_grad;
  auto w_in = scaled_by_cap(weight.to(x.scalar_type()), cap);
  auto safe = targets.clamp_min(0).unsqueeze(1);
  auto out = torch::empty({x.size(0)}, x.options().dtype(torch::kFloat32));
  for (int64_t start = 0; start < x.size(0); start += kEvalRows) {
    const int64_t n = std::min(kEvalRows, x.size(0) - start);
    auto s = torch::mm(x.narrow(0, start, n), w_in.t()).to(torch::kFloat32);  // (n, V): z / cap
    if (cpu_fast_path(s, cap) && targets.is_contiguous()) {
      out.narrow(0, start, n).copy_(fast_chunk_losses(s, targets.narrow(0, start, n), cap));
      continue;
    }
    if (cap > 0) s.tanh_().mul_(cap);
    auto target_logit = s.gather(1, safe.narrow(0, start, n)).squeeze(1);
    auto lse = bounded(cap) ? s.exp_().sum(1).log_() : torch::logsumexp(s, 1);
    out.narrow(0, start, n).copy_(lse.sub_(target_logit));
  }
  return out.masked_fill_(targets.lt(0), 0);
}

torch::Tensor softcap_cross_entropy_mean(const torch::Tensor& x, const torch::Tensor& weight,
                                         const torch::Tensor& targets, double cap) {
  return SoftcapCrossEntropy::apply(x, weight, targets, cap);
}

}  // namespace ar
