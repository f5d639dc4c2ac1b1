#include "binding/addon.h"

#include <napi.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <cstdlib>
#include <thread>

#include "binding/addon_data.h"
#include "binding/async_task.h"
#include "binding/js_convert.h"
#include "binding/loader_binding.h"
#include "binding/model_binding.h"
#include "binding/optimizer_binding.h"
#include "binding/tokenizer_binding.h"
#include "runtime/allocator.h"
#include "runtime/device.h"
#include "runtime/errors.h"
#include "runtime/matmul_probe.h"
#include "runtime/threads.h"

namespace ar {
namespace {

Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto obj = Napi::Object::New(env);
  obj.Set("libtorchVersion", std::string(TORCH_VERSION));
  obj.Set("cuda", cuda_compiled());
  obj.Set("cxx11Abi", static_cast<bool>(_GLIBCXX_USE_CXX11_ABI));
  obj.Set("napiVersion", NAPI_VERSION);
  return obj;
}

Napi::Value RuntimeInfo(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    auto obj = Napi::Object::New(env);
    obj.Set("threads", get_num_threads());
    obj.Set("blas", blas_info());
    obj.Set("cudaAvailable", cuda_available());
    int count = cuda_device_count();
    auto names = Napi::Array::New(env, count);
    for (int i = 0; i < count; i++) names.Set(i, cuda_device_name(i));
    obj.Set("cudaDevices", names);
    return obj;
  });
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    set_num_threads(static_cast<int>(to_int(info[0], "threads", 1)));
    return info.Env().Undefined();
  });
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), get_num_threads()); }

Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    torch::manual_seed(static_cast<uint64_t>(to_int(info[0], "seed", 0)));
    return info.Env().Undefined();
  });
}

struct ProbeArgs {
  int64_t n;
  int repeats;
  torch::Device device;
};

// (n, repeats, [device]) of both matmul probes.
ProbeArgs read_probe_args(const Napi::CallbackInfo& info) {
  return {to_int(info[0], "n", 1), static_cast<int>(to_int(info[1], "repeats", 1)),
          choose_device(info.Length() > 2 ? to_string(info[2], "device") : "auto").device};
}

// measureMatmulFlops(n, repeats, device) -> Promise<number>
Napi::Value MeasureMatmulFlops(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto a = read_probe_args(info);
    return AsyncTask<double>::Start(
        info.Env(), [a] { return measure_matmul_flops(a.n, a.repeats, a.device); },
        [](Napi::Env env, double& flops) -> Napi::Value { return Napi::Number::New(env, flops); });
  });
}

// measureMatmulFlopsSync(n, repeats, device) -> number, on the calling (JavaScript) thread.
// A training process probes this way: OpenMP work on a second thread gives libgomp a second
// thread team, and with more OpenMP threads than cores libgomp shortens every idle thread's
// spin, which slows every later training step (seen on 2 cores with OpenMP OpenBLAS).
Napi::Value MeasureMatmulFlopsSync(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto a = read_probe_args(info);
    return Napi::Number::New(info.Env(), measure_matmul_flops(a.n, a.repeats, a.device));
  });
}

}  // namespace

Napi::Object init_addon(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  auto model = ModelBinding::Define(env);
  auto optimizer = OptimizerBinding::Define(env);
  data->model = Napi::Persistent(model);
  data->optimizer = Napi::Persistent(optimizer);
  env.SetInstanceData(data);

  if (!std::getenv("AUTORESEARCH_SYSTEM_MALLOC")) keep_freed_memory_for_reuse();
  // Debian's libtorch starts with one intra-op thread: use every core unless told otherwise.
  set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));

  exports.Set("NativeModel", model);
  exports.Set("NativeOptimizer", optimizer);
  define_loader(env, exports);
  exports.Set("buildInfo", Napi::Function::New<BuildInfo>(env, "buildInfo"));
  exports.Set("runtimeInfo", Napi::Function::New<RuntimeInfo>(env, "runtimeInfo"));
  exports.Set("setNumThreads", Napi::Function::New<SetNumThreads>(env, "setNumThreads"));
  exports.Set("getNumThreads", Napi::Function::New<GetNumThreads>(env, "getNumThreads"));
  exports.Set("manualSeed", Napi::Function::New<ManualSeed>(env, "manualSeed"));
  exports.Set("measureMatmulFlops", Napi::Function::New<MeasureMatmulFlops>(env, "measureMatmulFlops"));
  exports.Set("measureMatmulFlopsSync", Napi::Function::New<MeasureMatmulFlopsSync>(env, "measureMatmulFlopsSync"));
  define_tokenizer(env, exports);
  return exports;
}

}  // namespace ar
