// CUDA-only pieces of device.h, compiled only when libtorch has CUDA (scripts/libtorch.js
// leaves cuda_* files out otherwise).
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <cuda_runtime_api.h>

#include "device.h"

namespace ar {

std::string cuda_device_name(int index) {
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, index) != cudaSuccess) return "unknown GPU";
  return prop.name;
}

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) c10::cuda::device_synchronize();
}

double peak_memory_bytes(const torch::Device& device) {
  if (!device.is_cuda()) return -1;
  auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
  using Stat = c10::cuda::CUDACachingAllocator::StatType;
  return static_cast<double>(stats.allocated_bytes[static_cast<size_t>(Stat::AGGREGATE)].peak);
}

void reset_peak_memory(const torch::Device& device) {
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index());
}

}  // namespace ar
