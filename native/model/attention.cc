#include "model/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ar {
namespace {

// Query block length of the blocked path. The test addon can change it (to exercise block
// boundaries); the release addon has no switch, only the constant.
#if AUTORESEARCH_TESTING
int64_t g_block = 128;
#else
constexpr int64_t g_block = 128;
#endif

// (B, T, Hkv, D) -> (B, H, T, D): GQA shares each kv head across H / Hkv query heads.
torch::Tensor heads_first(const torch::Tensor& x, int64_t n_head) {
  auto y = x.transpose(1, 2);  // (B, Hkv, T, D)
  int64_t group = n_head / y.size(1);
  if (group == 1) return y;
  return y.repeat_interleave(group, 1);
}

// Allowed (query, key) pairs of one block: key index ks + j for query index qs + i.
torch::Tensor block_mask(int64_t qs, int64_t qe, int64_t ks, int64_t ke, int64_t window, torch::Device device) {
  auto opts = torch::TensorOptions().dtype(torch::kLong).device(device);
  auto qi = torch::arange(qs, qe, opts).unsqueeze(1);  // (bq, 1)
  auto kj = torch::arange(ks, ke, opts).unsqueeze(0);  // (1, bk)
  return (kj <= qi).logical_and(kj >= qi - window);    // (bq, bk)
}

#if AUTORESEARCH_TORCH_MAJOR >= 2
constexpr bool kHasPublicSdpa = true;
#else
constexpr bool kHasPublicSdpa = false;
#endif

torch::Tensor sdpa_causal(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
#if AUTORESEARCH_TORCH_MAJOR >= 2
  return at::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/true);
#else
  TORCH_CHECK(false, "scaled_dot_product_attention needs libtorch >= 2");
#endif
}

torch::Tensor sdpa_masked(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                          const torch::Tensor& mask) {
#if AUTORESEARCH_TORCH_MAJOR >= 2
  return at::scaled_dot_product_attention(q, k, v, mask, 0.0, /*is_causal=*/false);
#else
  TORCH_CHECK(false, "scaled_dot_product_attention needs libtorch >= 2");
#endif
}

// One query block against its keys with plain matmul + softmax. q is pre-scaled.
torch::Tensor block_math(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                         const torch::Tensor& mask) {
  auto scores = torch::matmul(q, k.transpose(-2, -1));  // (B, H, bq, bk)
  scores.masked_fill_(mask.logical_not(), -std::numeric_limits<float>::infinity());
  return torch::matmul(torch::softmax(scores, -1), v);  // (B, H, bq, D)
}

}  // namespace

#if AUTORESEARCH_TESTING
void set_attention_block_size(int64_t block) { g_block = std::max<int64_t>(1, block); }
int64_t attention_block_size() { return g_block; }
#endif

torch::Tensor causal_window_attention(const torch::Tensor& q_in, const torch::Tensor& k_in, const torch::Tensor& v_in,
                                      int64_t window) {
  int64_t T = q_in.size(1), H = q_in.size(2), D = q_in.size(3);
  auto q = q_in.transpose(1, 2);  // (B, H, T, D)
  auto k = heads_first(k_in, H);  // (B, H, T, D)
  auto v = heads_first(v_in, H);  // (B, H, T, D)
  bool full = window >= T - 1;
  bool use_sdpa = kHasPublicSdpa && (q.is_cuda() || full);

  torch::Tensor y;
  if (full && use_sdpa) {
    y = sdpa_causal(q, k, v);
  } else {
    auto qs_scaled = use_sdpa ? q : q * (1.0 / std::sqrt(static_cast<double>(D)));
    std::vector<torch::Tensor> blocks;
    for (int64_t qs = 0; qs < T; qs += g_block) {
      int64_t qe = std::min(T, qs + g_block);
      int64_t ks = std::max<int64_t>(0, qs - window);
      auto mask = block_mask(qs, qe, ks, qe, window, q.device());
      auto qb = qs_scaled.narrow(2, qs, qe - qs);
      auto kb = k.narrow(2, ks, qe - ks);
      auto vb = v.narrow(2, ks, qe - ks);
      blocks.push_back(use_sdpa ? sdpa_masked(qb, kb, vb, mask) : block_math(qb, kb, vb, mask));
    }
    y = blocks.size() == 1 ? blocks[0] : torch::cat(blocks, 2);
  }
  return y.transpose(1, 2);  // (B, T, H, D)
}

}  // namespace ar
