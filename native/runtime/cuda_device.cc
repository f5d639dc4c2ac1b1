// CUDA-only pieces of device.h, compiled only when libtorch has CUDA (scripts/libtorch.js
// leaves cuda_* files out otherwise).
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <cuda_runtime_api.h>

#include "runtime/device.h"

namespace ar {

// The allocator's statistics moved to a device-generic header in libtorch 2.5
// (c10/core/CachingDeviceAllocator.h); the CUDA namespace re-exports DeviceStats but not
// StatType there.
#if AUTORESEARCH_TORCH_MAJOR > 2 || (AUTORESEARCH_TORCH_MAJOR == 2 && AUTORESEARCH_TORCH_MINOR >= 5)
using StatType = c10::CachingDeviceAllocator::StatType;
#else
using StatType = c10::cuda::CUDACachingAllocator::StatType;
#endif

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
  return static_cast<double>(stats.allocated_bytes[static_cast<size_t>(StatType::AGGREGATE)].peak);
}

void reset_peak_memory(const torch::Device& device) {
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index());
}

}  // namespace ar
