// The device's measured fp32 matmul throughput: the yardstick for MFU on the CPU (where no
// published peak applies) and for the step benchmark's "fraction of matmul throughput".
#pragma once

#include <torch/torch.h>

namespace ar {

// FLOP/s of an n x n x n fp32 matmul on the device (best of `repeats` timed runs).
double measure_matmul_flops(int64_t n, int repeats, torch::Device device);

}  // namespace ar
