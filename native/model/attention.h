// Causal self-attention with a per-layer sliding window, doing only the work the window needs.
// Query i sees keys j with i - window <= j <= i (flash-attention's window_size=(window, 0)).
// Queries are processed in blocks; each block multiplies only against the keys its window can
// reach, so neither the masked upper triangle nor keys left of the window are computed
// (a full-context layer does ~half the T x T products, a half-context one ~3/8).
// With libtorch >= 2 the fused scaled-dot-product kernels are used where they apply
// (full-context layers; masked blocks on CUDA); libtorch 1.13 keeps SDPA private, so there the
// blocked path is plain matmul + softmax.
#pragma once

#include <torch/torch.h>

namespace ar {

// q: (B, T, H, D) already rotated, normed; k, v: (B, T, Hkv, D) with Hkv dividing H.
// Returns (B, T, H, D). Softmax scale 1/sqrt(D).
torch::Tensor causal_window_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                      int64_t window);

#if AUTORESEARCH_TESTING
// Test addon only: the query block length of the blocked path (tests shrink it to exercise
// block boundaries).
void set_attention_block_size(int64_t block);
int64_t attention_block_size();
#endif

}  // namespace ar
