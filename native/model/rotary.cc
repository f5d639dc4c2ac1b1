#include "model/rotary.h"

namespace ar {

RotaryTables make_rotary_tables(int64_t positions, int64_t head_dim, double base, torch::Device device,
                                torch::Dtype dtype) {
  auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  auto channel = torch::arange(0, head_dim, 2, f32);                  // (D/2)
  auto inv_freq = 1.0 / torch::pow(base, channel / head_dim);         // (D/2)
  auto t = torch::arange(positions, f32);                             // (L)
  auto freqs = torch::outer(t, inv_freq);                             // (L, D/2)
  return {freqs.cos().to(dtype).unsqueeze(0).unsqueeze(2), freqs.sin().to(dtype).unsqueeze(0).unsqueeze(2)};
}

torch::Tensor apply_rotary(const torch::Tensor& x, const RotaryTables& tables) {
  int64_t T = x.size(1), half = x.size(3) / 2;
  auto cos = tables.cos.narrow(1, 0, T);
  auto sin = tables.sin.narrow(1, 0, T);
  auto x1 = x.narrow(3, 0, half);
  auto x2 = x.narrow(3, half, half);
  return torch::cat({x1 * cos + x2 * sin, x2 * cos - x1 * sin}, 3);
}

}  // namespace ar
