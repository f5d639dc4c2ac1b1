#include "runtime/threads.h"

#include <dlfcn.h>
#include <torch/torch.h>

#include "runtime/errors.h"

namespace ar {

void set_num_threads(int n) {
  if (n < 1) throw InvalidArgument("thread count must be at least 1 (got " + std::to_string(n) + ")");
  at::set_num_threads(n);
  using SetThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set(n);
}

int get_num_threads() { return at::get_num_threads(); }

std::string blas_info() {
  using GetConfig = char* (*)();
  if (auto get = reinterpret_cast<GetConfig>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) {
    return get();  // already starts with "OpenBLAS <version>"
  }
  if (dlsym(RTLD_DEFAULT, "mkl_get_max_threads")) return "MKL";
  return "unknown (reference BLAS is slow: install libopenblas0-openmp)";
}

}  // namespace ar
