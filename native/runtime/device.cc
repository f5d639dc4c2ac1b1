#include "runtime/device.h"

#include "runtime/errors.h"

namespace ar {

bool cuda_compiled() { return AUTORESEARCH_WITH_CUDA != 0; }

bool cuda_available() { return cuda_compiled() && torch::cuda::is_available(); }

int cuda_device_count() { return cuda_compiled() ? static_cast<int>(torch::cuda::device_count()) : 0; }

DeviceChoice choose_device(const std::string& requested) {
  DeviceChoice choice;
  if (requested == "cpu") {
    choice.reason = "cpu (requested)";
    return choice;
  }
  bool wants_cuda = requested.rfind("cuda", 0) == 0;
  if (!wants_cuda && requested != "auto") {
    throw InvalidArgument("unknown device '" + requested + "': use auto, cpu, cuda or cuda:N");
  }
  if (!cuda_available()) {
    if (wants_cuda) {
      throw InvalidArgument(cuda_compiled()
                                ? "device '" + requested + "' requested but no CUDA GPU is visible; use device 'cpu'"
                                : "device '" + requested + "' requested but this addon was built against a CPU-only "
                                  "libtorch; rebuild against a CUDA libtorch or use device 'cpu'");
    }
    choice.reason = cuda_compiled() ? "cpu (no CUDA GPU visible)" : "cpu (libtorch without CUDA)";
    return choice;
  }
  choice.device = requested == "auto" ? torch::Device(torch::kCUDA, 0) : torch::Device(requested);
  if (choice.device.index() >= cuda_device_count()) {
    throw InvalidArgument("device '" + requested + "' does not exist: " + std::to_string(cuda_device_count()) +
                          " CUDA device(s) visible");
  }
  choice.compute_dtype = torch::kBFloat16;
  choice.embedding_dtype = torch::kBFloat16;
  choice.reason = choice.device.str() + " (" + cuda_device_name(choice.device.index()) + ", bf16)";
  return choice;
}

#if !AUTORESEARCH_WITH_CUDA
// CPU-only libtorch: the CUDA pieces live in runtime/cuda_device.cc, compiled only with CUDA.
std::string cuda_device_name(int) { return ""; }
void synchronize(const torch::Device&) {}
double peak_memory_bytes(const torch::Device&) { return -1; }
void reset_peak_memory(const torch::Device&) {}
#endif

}  // namespace ar
