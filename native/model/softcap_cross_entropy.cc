#include "model/softcap_cross_entropy.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "model/exact_math.h"
#include "model/fast_math.h"
#include "runtime/errors.h"

namespace ar {
namespace {

// Rows per chunk: a chunk of logits should stay in cache, yet the head's matmul (K = model_dim
// only) needs enough rows to run efficiently. Training keeps one n x V buffer per chunk and
// accumulates the weight gradient once per chunk, so it takes more rows than the evaluation.
constexpr int64_t kEvalRows = 128;
constexpr int64_t kTrainRows = 512;

// With |s| <= cap <= 60 the exponentials cannot overflow fp32 (V * e^cap): no max pass needed.
bool bounded(double cap) { return cap > 0 && cap <= 60; }

// The head's weight w (already in the compute dtype: bf16 on CUDA, as autocast does) divided
// by the soft-cap, so that the matmul yields z / cap directly (one pass fewer).
torch::Tensor scaled_by_cap(const torch::Tensor& w, double cap) { return cap > 0 ? w / cap : w; }

// The CPU paths (fp32, cap <= 60) work on one row of u = z / cap at a time while it is in
// cache, instead of a libtorch operation and a trip through memory per step.
// - Training: the loss and the gradient in two passes over the row (softcap_grad_row), with the
//   fast float polynomials of model/fast_math.h, 8 floats at a time.
// - Evaluation: the row's sum of exp(cap * tanh(u)) exact to double precision
//   (model/exact_math.h), then the loss in double precision: val_bpb does not depend on an
//   approximation, and it is the same whichever variant below the CPU runs.
// x86-64 builds carry each loop in variants for what the CPU offers, picked once when the
// addon loads: "x86-64-v3" (AVX2 and FMA, the fastest for the training polynomials),
// "avx2" and "default" (the x86-64 baseline, SSE2), and "x86-64-v4" (AVX-512), which trains
// as "x86-64-v3" does and sums 8 doubles at a time. The exact sums are compiled for the
// baseline, for "avx2" and for AVX-512 with contraction off, never with fused multiply-adds (see
// exact_math.h); "x86-64-v3" uses the "avx2" one. The test addon can switch variants
// (set_cpu_kernel_variant) to check that evaluations agree. (GCC 12 and later: older ones know
// no x86-64-v3 or v4 and get "avx2" and "default".)
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define AR_X86_VARIANTS 1
#define AR_TARGET_AVX2 __attribute__((target("avx2")))
#if __GNUC__ >= 12
#define AR_X86_64_V3 1
#define AR_TARGET_X86_64_V3 __attribute__((target("arch=x86-64-v3")))
// AVX-512F has fused multiply-add patterns for its vectors: contraction must be off.
#define AR_TARGET_AVX512_EXACT __attribute__((target("avx512f"), optimize("fp-contract=off")))
#endif
#endif

// Training's fast path for one row: u = z / cap becomes dloss/dz in place, with the row's
// gradient weight `scale` (1 / count); returns the row's loss. Pass 1 keeps tanh(u) in u and
// exp(cap * tanh(u)) in e (a row-sized scratch buffer), pass 2 turns them into the gradient
// (softmax - onehot) * scale * (1 - tanh^2) while the row is still in cache. libtorch's
// tanh, multiply, exp, normalise, scatter and tanh_backward were six passes over the whole
// chunk through memory.
AR_ALWAYS_INLINE float softcap_grad_row(float* u, float* e, int64_t V, float cap, int64_t target, float scale) {
  float8 acc{};
  int64_t v = 0;
  for (; v + 8 <= V; v += 8) {
    float8 y = fast_tanh8(load8(u + v, 8));
    float8 ex = fast_exp8(cap * y);
    std::memcpy(u + v, &y, sizeof y);
    std::memcpy(e + v, &ex, sizeof ex);
    acc += ex;
  }
  float sum = 0;
  for (int l = 0; l < 8; l++) sum += acc[l];
  if (v < V) {
    const size_t tail = sizeof(float) * static_cast<size_t>(V - v);
    float8 y = fast_tanh8(load8(u + v, V - v));
    float8 ex = fast_exp8(cap * y);
    for (int64_t l = 0; l < V - v; l++) sum += ex[l];
    std::memcpy(u + v, &y, tail);
    std::memcpy(e + v, &ex, tail);
  }
  const float y_target = u[target];
  const float k = scale / sum;
  for (v = 0; v + 8 <= V; v += 8) {
    float8 y = load8(u + v, 8);
    float8 g = load8(e + v, 8) * k * (1.0f - y * y);
    std::memcpy(u + v, &g, sizeof g);
  }
  for (; v < V; v++) u[v] = e[v] * k * (1.0f - u[v] * u[v]);
  u[target] -= scale * (1.0f - y_target * y_target);
  return std::log(sum) - cap * y_target;
}

using GradRowFn = float (*)(float*, float*, int64_t, float, int64_t, float);
using ExactSumFn = double (*)(const float*, int64_t, const SoftcapExpTable&);

float grad_row_default(float* u, float* e, int64_t V, float cap, int64_t target, float scale) {
  return softcap_grad_row(u, e, V, cap, target, scale);
}
double exact_sum_default(const float* u, int64_t V, const SoftcapExpTable& t) { return softcap_exp_sum_exact(u, V, t); }
#ifdef AR_X86_VARIANTS
AR_TARGET_AVX2 float grad_row_avx2(float* u, float* e, int64_t V, float cap, int64_t target, float scale) {
  return softcap_grad_row(u, e, V, cap, target, scale);
}
#ifdef AR_X86_64_V3
AR_TARGET_X86_64_V3 float grad_row_x86_64_v3(float* u, float* e, int64_t V, float cap, int64_t target, float scale) {
  return softcap_grad_row(u, e, V, cap, target, scale);
}
#endif
AR_TARGET_AVX2 double exact_sum_avx2(const float* u, int64_t V, const SoftcapExpTable& t) {
  return softcap_exp_sum_exact(u, V, t);
}
#ifdef AR_X86_64_V3
AR_TARGET_AVX512_EXACT double exact_sum_avx512(const float* u, int64_t V, const SoftcapExpTable& t) {
  return softcap_exp_sum_exact8(u, V, t);
}
#endif
#endif

struct CpuKernels {
  const char* name;
  GradRowFn grad_row;
  ExactSumFn exact_sum;
};

// Best first.
const CpuKernels kVariants[] = {
#ifdef AR_X86_64_V3
    {"x86-64-v4", grad_row_x86_64_v3, exact_sum_avx512},
    {"x86-64-v3", grad_row_x86_64_v3, exact_sum_avx2},
#endif
#ifdef AR_X86_VARIANTS
    {"avx2", grad_row_avx2, exact_sum_avx2},
#endif
    {"default", grad_row_default, exact_sum_default},
};

// What the CPU (and the OS, for the AVX registers) supports: the test an ifunc resolver of
// target_clones makes.
bool cpu_runs(const CpuKernels& k) {
  const std::string name = k.name;
#ifdef AR_X86_VARIANTS
  __builtin_cpu_init();
  if (name == "avx2") return __builtin_cpu_supports("avx2");
#endif
#ifdef AR_X86_64_V3
  if (name == "x86-64-v3") return __builtin_cpu_supports("x86-64-v3");
  if (name == "x86-64-v4") return __builtin_cpu_supports("x86-64-v4");
#endif
  return name == "default";
}

const CpuKernels* best_variant() {
  for (const auto& k : kVariants) {
    if (cpu_runs(k)) return &k;
  }
  return &kVariants[std::size(kVariants) - 1];
}

// Chosen when the addon loads, as an ifunc resolver would; only the test addon changes it.
std::atomic<const CpuKernels*> g_kernels{best_variant()};

// One table per soft-cap value seen (a model has one).
const SoftcapExpTable& exp_table(double cap) {
  static std::mutex mutex;
  static std::map<double, std::unique_ptr<SoftcapExpTable>> tables;
  std::lock_guard<std::mutex> lock(mutex);
  auto& table = tables[cap];
  if (!table) table = std::make_unique<SoftcapExpTable>(cap);
  return *table;
}

bool cpu_fast_path(const torch::Tensor& u, double cap) {
  return u.device().is_cpu() && u.scalar_type() == torch::kFloat32 && u.is_contiguous() && bounded(cap);
}

// Per-row losses of an evaluation chunk on the CPU path: u (n, V) = z / cap, targets (n).
// loss = log(sum_v exp(cap tanh(u_v))) - cap tanh(u_target), all in double precision; the
// target's term through std::tanh.
torch::Tensor exact_chunk_losses(const torch::Tensor& u, const torch::Tensor& targets, double cap) {
  const int64_t n = u.size(0), V = u.size(1);
  auto losses = torch::zeros({n}, u.options());
  const float* pu = u.data_ptr<float>();
  const int64_t* pt = targets.data_ptr<int64_t>();
  float* pl = losses.data_ptr<float>();
  const SoftcapExpTable& table = exp_table(cap);
  const ExactSumFn exp_sum = g_kernels.load(std::memory_order_relaxed)->exact_sum;
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      if (pt[i] < 0) continue;
      const double target_logit = cap * std::tanh(static_cast<double>(pu[i * V + pt[i]]));
      pl[i] = static_cast<float>(std::log(exp_sum(pu + i * V, V, table)) - target_logit);
    }
  });
  return losses;
}

// Training's chunk on the fast path: u (n, V) = z / cap becomes dloss/dz in place; returns
// the sum of the counted rows' losses.
double fast_chunk_gradient(torch::Tensor& u, const torch::Tensor& targets, double cap, double count) {
  const int64_t n = u.size(0), V = u.size(1);
  float* pu = u.data_ptr<float>();
  const int64_t* pt = targets.data_ptr<int64_t>();
  std::vector<float> losses(static_cast<size_t>(n), 0.0f);
  const float c = static_cast<float>(cap), scale = static_cast<float>(1.0 / count);
  const GradRowFn grad_row = g_kernels.load(std::memory_order_relaxed)->grad_row;
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> e(static_cast<size_t>(V));
    for (int64_t i = begin; i < end; i++) {
      if (pt[i] < 0) {
        std::fill_n(pu + i * V, V, 0.0f);
        continue;
      }
      losses[static_cast<size_t>(i)] = grad_row(pu + i * V, e.data(), V, c, pt[i], scale);
    }
  });
  double total = 0;
  for (float l : losses) total += l;
  return total;
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
    // On the CPU the count is at hand (no device to wait for); the fast path needs it.
    const bool cpu = x.device().is_cpu() && x.scalar_type() == torch::kFloat32 && bounded(cap);
    const double cpu_count = cpu ? count.item<double>() : 0.0;
    const bool fast = cpu && cpu_count > 0;
    double cpu_total = 0;
    for (int64_t start = 0; start < n_rows; start += kTrainRows) {
      const int64_t n = std::min(kTrainRows, n_rows - start);
      auto xc = x.narrow(0, start, n);
      auto chunk_valid = valid.narrow(0, start, n);
      auto chunk_safe = safe.narrow(0, start, n);
      auto t = torch::mm(xc, w_in.t()).to(torch::kFloat32);  // (n, V): z / cap, or z without a cap
      torch::Tensor g;
      if (fast) {
        cpu_total += fast_chunk_gradient(t, targets.narrow(0, start, n).contiguous(), cap, cpu_count);
        g = t;
      } else {
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
        s.scatter_add_(1, chunk_safe, -row);           // dloss/ds
        g = cap > 0 ? torch::tanh_backward(s, t) : s;  // dloss/dz = dloss/ds * (1 - tanh^2)
      }
      auto gc = g.to(x.scalar_type());
      grad_x.narrow(0, start, n).copy_(torch::mm(gc, w));
      if (grad_w.scalar_type() == gc.scalar_type()) {
        grad_w.addmm_(gc.t(), xc);
      } else {
        grad_w.add_(torch::mm(gc.t(), xc));
      }
    }
    if (fast) total.fill_(cpu_total);
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
      out.narrow(0, start, n).copy_(exact_chunk_losses(s, targets.narrow(0, start, n), cap));
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

#if AUTORESEARCH_TESTING
std::vector<std::string> cpu_kernel_variants() {
  std::vector<std::string> out;
  for (const auto& k : kVariants) {
    if (cpu_runs(k)) out.push_back(k.name);
  }
  return out;
}

std::string cpu_kernel_variant() { return g_kernels.load()->name; }

double softcap_exp_sum_row(const float* u, int64_t V, double cap) {
  if (!bounded(cap)) throw InvalidArgument("the exact soft-capped sum needs 0 < cap <= 60 (got " + std::to_string(cap) + ")");
  return g_kernels.load()->exact_sum(u, V, exp_table(cap));
}

void set_cpu_kernel_variant(const std::string& name) {
  for (const auto& k : kVariants) {
    if (name != k.name) continue;
    if (!cpu_runs(k)) throw InvalidArgument("this CPU cannot run the '" + name + "' kernels");
    g_kernels.store(&k);
    return;
  }
  std::string known;
  for (const auto& k : kVariants) known += (known.empty() ? "" : ", ") + std::string(k.name);
  throw InvalidArgument("no kernel variant '" + name + "' in this build (it has: " + known + ")");
}
#endif

}  // namespace ar
