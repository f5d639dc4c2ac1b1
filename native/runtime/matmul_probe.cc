#include "runtime/matmul_probe.h"

#include <algorithm>
#include <chrono>

#include "runtime/device.h"

namespace ar {

double measure_matmul_flops(int64_t n, int repeats, torch::Device device) {
  torch::NoGradGuard no_grad;
  auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  auto a = torch::randn({n, n}, opts);
  auto b = torch::randn({n, n}, opts);
  auto c = torch::empty({n, n}, opts);
  torch::mm_out(c, a, b);  // warm-up: thread pool, BLAS buffers
  synchronize(device);
  double best = 0;
  for (int r = 0; r < repeats; r++) {
    auto start = std::chrono::steady_clock::now();
    torch::mm_out(c, a, b);
    synchronize(device);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, 2.0 * n * n * n / seconds);
  }
  return best;
}

}  // namespace ar
