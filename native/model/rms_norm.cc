#include "model/rms_norm.h"

#include <limits>

namespace ar {

torch::Tensor rms_norm(const torch::Tensor& x) {
  double eps = x.scalar_type() == torch::kBFloat16 ? 0.0078125 : std::numeric_limits<float>::epsilon();
  return x * torch::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true) + eps);
}

}  // namespace ar
