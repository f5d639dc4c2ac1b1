// Polar Express orthogonalisation (SPEC §5): five Newton-Schulz-like iterations with tuned
// coefficient triples, on stacked matrices (N, rows, cols). Pushes singular values towards 1.
// Runs in bf16 on CUDA as the reference does; on the CPU in fp32 (emulated bf16 is slower
// there and fp32 is at least as accurate).
#pragma once

#include <torch/torch.h>

namespace ar {

torch::Tensor polar_express(const torch::Tensor& g, int steps, torch::Dtype dtype);

}  // namespace ar
