// Rotary position embedding (SPEC §4): base 10000 by default, inverse frequencies
// 1 / base^(2j / head_dim), half-split layout: y1 = x1 cos + x2 sin, y2 = -x1 sin + x2 cos.
// The tables cover 10 x sequence_len positions, as in the reference.
#pragma once

#include <torch/torch.h>

namespace ar {

struct RotaryTables {
  torch::Tensor cos;  // (1, L, 1, D/2)
  torch::Tensor sin;  // (1, L, 1, D/2)
};

RotaryTables make_rotary_tables(int64_t positions, int64_t head_dim, double base, torch::Device device,
                                torch::Dtype dtype);

// x: (B, T, H, D); cos/sin: (1, >=T, 1, D/2), sliced to the first T positions.
torch::Tensor apply_rotary(const torch::Tensor& x, const RotaryTables& tables);

}  // namespace ar
