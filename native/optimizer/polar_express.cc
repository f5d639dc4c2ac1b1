#include "optimizer/polar_express.h"

#include <array>

#include "runtime/errors.h"

namespace ar {
namespace {
constexpr std::array<std::array<double, 3>, 5> kCoefficients = {{
    {8.156554524902461, -22.48329292557795, 15.878769915207462},
    {4.042929935166739, -2.808917465908714, 0.5000178451051316},
    {3.8916678022926607, -2.772484153217685, 0.5060648178503393},
    {3.285753657755655, -2.3681294933425376, 0.46449024233003106},
    {2.3465413258596377, -1.7097828382687081, 0.42323551169305323},
}};
}  // namespace

torch::Tensor polar_express(const torch::Tensor& g, int steps, torch::Dtype dtype) {
  if (g.dim() != 3) throw InvalidArgument("polar_express expects stacked matrices (N, rows, cols)");
  if (steps < 0 || steps > static_cast<int>(kCoefficients.size())) {
    throw InvalidArgument("polar_express supports 0 to 5 steps (got " + std::to_string(steps) + ")");
  }
  auto X = g.to(dtype);
  X = X / (X.norm(2, {-2, -1}, /*keepdim=*/true) * 1.02 + 1e-6);
  bool tall = g.size(-2) > g.size(-1);
  for (int i = 0; i < steps; i++) {
    const auto& [a, b, c] = kCoefficients[i];
    if (tall) {
      auto A = torch::bmm(X.transpose(-2, -1), X);                // (N, cols, cols)
      auto B = torch::baddbmm(A, A, A, /*beta=*/b, /*alpha=*/c);  // b A + c A^2
      X = torch::baddbmm(X, X, B, /*beta=*/a, /*alpha=*/1.0);     // a X + X B
    } else {
      auto A = torch::bmm(X, X.transpose(-2, -1));                // (N, rows, rows)
      auto B = torch::baddbmm(A, A, A, /*beta=*/b, /*alpha=*/c);
      X = torch::baddbmm(X, B, X, /*beta=*/a, /*alpha=*/1.0);     // a X + B X
    }
  }
  return X;
}

}  // namespace ar
