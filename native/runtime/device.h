// Device choice in one place: CUDA when this libtorch was built with it and a GPU is visible,
// the CPU otherwise. On CUDA activations and embeddings are bf16 (matmuls as under bf16
// autocast); on the CPU everything is fp32 (bf16 matmuls are emulated there and slower).
#pragma once

#include <torch/torch.h>

#include <string>

namespace ar {

struct DeviceChoice {
  torch::Device device = torch::kCPU;
  torch::Dtype compute_dtype = torch::kFloat32;    // activations and matmul inputs
  torch::Dtype embedding_dtype = torch::kFloat32;  // wte and value embeddings storage
  std::string reason;                              // what was picked and why
};

// requested: "auto" | "cpu" | "cuda" | "cuda:N"
DeviceChoice choose_device(const std::string& requested);

bool cuda_compiled();
bool cuda_available();
int cuda_device_count();
std::string cuda_device_name(int index);
void synchronize(const torch::Device& device);
// Peak bytes allocated by the CUDA caching allocator since the last reset; -1 on the CPU.
double peak_memory_bytes(const torch::Device& device);
void reset_peak_memory(const torch::Device& device);

}  // namespace ar
