// Internals exposed to the test-suite as the `testing` object of the test addon
// (autoresearch_testing.node; never in the release addon, which the library and the package
// use) so that single pieces can be checked against hand computations on small tensors: the
// same functions the model and optimizer call, and the switches tests turn (attention block
// size, CPU kernel variant), and a probe of the host allocator.
#include <unistd.h>

#include <fstream>

#include <torch/torch.h>

#include "binding/addon.h"
#include "binding/addon_data.h"
#include "binding/js_convert.h"
#include "binding/model_binding.h"
#include "eval/scorer.h"
#include "model/attention.h"
#include "model/softcap_cross_entropy.h"
#include "optimizer/muon_adamw.h"
#include "optimizer/polar_express.h"
#include "runtime/errors.h"

namespace ar {
namespace {

torch::Tensor tensor_from(const Napi::Value& data, const Napi::Value& shape, const char* what) {
  auto values = to_float_vector(data, what);
  auto dims = to_shape(shape, what);
  auto t = torch::tensor(values, torch::kFloat32);
  if (t.numel() != c10::multiply_integers(dims)) throw InvalidArgument(std::string(what) + ": data length does not match shape");
  return t.view(dims).clone();
}

Napi::Value PolarExpress(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto g = tensor_from(info[0], info[1], "polarExpress data");
    int steps = static_cast<int>(to_int(info[2], "steps", 0));
    return to_float32_array(info.Env(), polar_express(g, steps, torch::kFloat32));
  });
}

// adamwUpdate({param, grad, m, v, shape, step, lr, beta1, beta2, eps, weightDecay}) -> {param, m, v}
Napi::Value AdamwUpdate(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto o = info[0].As<Napi::Object>();
    auto shape = o.Get("shape");
    auto p = tensor_from(o.Get("param"), shape, "param"), g = tensor_from(o.Get("grad"), shape, "grad");
    auto m = tensor_from(o.Get("m"), shape, "m"), v = tensor_from(o.Get("v"), shape, "v");
    adamw_update_(p, g, m, v, to_int(o.Get("step"), "step", 1), to_number(o.Get("lr"), "lr"),
                  to_number(o.Get("beta1"), "beta1"), to_number(o.Get("beta2"), "beta2"), to_number(o.Get("eps"), "eps"),
                  to_number(o.Get("weightDecay"), "weightDecay"));
    auto out = Napi::Object::New(info.Env());
    out.Set("param", to_float32_array(info.Env(), p));
    out.Set("m", to_float32_array(info.Env(), m));
    out.Set("v", to_float32_array(info.Env(), v));
    return out;
  });
}

// muonUpdate({param, grad, momentumBuffer, secondMoment, shape, secondShape, lr, momentum,
//             weightDecay, beta2, nsSteps}) -> {param, momentumBuffer, secondMoment}
Napi::Value MuonUpdate(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto o = info[0].As<Napi::Object>();
    auto shape = o.Get("shape");
    auto P = tensor_from(o.Get("param"), shape, "param"), G = tensor_from(o.Get("grad"), shape, "grad");
    auto M = tensor_from(o.Get("momentumBuffer"), shape, "momentumBuffer");
    auto S = tensor_from(o.Get("secondMoment"), o.Get("secondShape"), "secondMoment");
    muon_update_(P, G, M, S, to_number(o.Get("lr"), "lr"), to_number(o.Get("momentum"), "momentum"),
                 to_number(o.Get("weightDecay"), "weightDecay"), to_number(o.Get("beta2"), "beta2"),
                 static_cast<int>(to_int(o.Get("nsSteps"), "nsSteps", 0)), torch::kFloat32);
    auto out = Napi::Object::New(info.Env());
    out.Set("param", to_float32_array(info.Env(), P));
    out.Set("momentumBuffer", to_float32_array(info.Env(), M));
    out.Set("secondMoment", to_float32_array(info.Env(), S));
    return out;
  });
}

// bpbSums(loss: Float32Array, targets: Int32Array, tokenBytes: Int32Array) -> {nats, bytes, tokens}
Napi::Value BpbSumsFn(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto loss = torch::tensor(to_float_vector(info[0], "loss"), torch::kFloat32);
    auto targets = to_int_tensor(info[1], "targets");
    auto token_bytes = to_int_tensor(info[2], "tokenBytes");
    auto s = bpb_sums(loss, targets, token_bytes);
    auto out = Napi::Object::New(info.Env());
    out.Set("nats", s.nats);
    out.Set("bytes", s.bytes);
    out.Set("tokens", static_cast<double>(s.tokens));
    return out;
  });
}

// softcapCrossEntropy({x, xShape, weight, weightShape, targets, cap})
//   -> {loss, gradX, gradWeight, perToken}: the chunked training and evaluation paths.
Napi::Value SoftcapCrossEntropyFn(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto o = info[0].As<Napi::Object>();
    auto x = tensor_from(o.Get("x"), o.Get("xShape"), "x").requires_grad_(true);
    auto w = tensor_from(o.Get("weight"), o.Get("weightShape"), "weight").requires_grad_(true);
    auto targets = to_int_tensor(o.Get("targets"), "targets");
    double cap = to_number(o.Get("cap"), "cap");
    auto loss = softcap_cross_entropy_mean(x, w, targets, cap);
    loss.backward();
    auto out = Napi::Object::New(info.Env());
    out.Set("loss", loss.item<double>());
    out.Set("gradX", to_float32_array(info.Env(), x.grad()));
    out.Set("gradWeight", to_float32_array(info.Env(), w.grad()));
    out.Set("perToken", to_float32_array(info.Env(), softcap_cross_entropy_per_token(x.detach(), w.detach(), targets, cap)));
    return out;
  });
}

Napi::Value SetAttentionBlockSize(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    int64_t previous = attention_block_size();
    set_attention_block_size(to_int(info[0], "block size", 1));
    return Napi::Number::New(info.Env(), static_cast<double>(previous));
  });
}

// {available, active}: the CPU kernel variants this build and CPU have, best first, and the one in use.
Napi::Value CpuKernelVariants(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    auto names = cpu_kernel_variants();
    auto available = Napi::Array::New(env, names.size());
    for (uint32_t i = 0; i < names.size(); i++) available.Set(i, names[i]);
    auto out = Napi::Object::New(env);
    out.Set("available", available);
    out.Set("active", cpu_kernel_variant());
    return out;
  });
}

// setCpuKernelVariant(name) -> the previous one.
Napi::Value SetCpuKernelVariant(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto previous = cpu_kernel_variant();
    set_cpu_kernel_variant(to_string(info[0], "variant"));
    return Napi::String::New(info.Env(), previous);
  });
}

// softcapExpSum(u: Float32Array, cap) -> the sum over u of exp(cap * tanh(u)) as the
// evaluation computes it (model/exact_math.h, the active variant), in double precision.
Napi::Value SoftcapExpSum(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto u = to_float_vector(info[0], "u");
    double cap = to_number(info[1], "cap");
    return Napi::Number::New(info.Env(), softcap_exp_sum_row(u.data(), static_cast<int64_t>(u.size()), cap));
  });
}

// The GPT behind a NativeModel argument.
std::shared_ptr<GPT> model_argument(const Napi::CallbackInfo& info, const char* caller) {
  auto* data = info.Env().GetInstanceData<AddonData>();
  if (info.Length() < 1 || !info[0].IsObject() || !info[0].As<Napi::Object>().InstanceOf(data->model.Value())) {
    throw InvalidArgument(std::string(caller) + "() expects a NativeModel as its first argument");
  }
  return ModelBinding::Unwrap(info[0].As<Napi::Object>())->model(caller);
}

// gradients(model) -> {name: Float32Array} for every parameter that has a gradient now.
Napi::Value Gradients(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto m = model_argument(info, "gradients");
    auto out = Napi::Object::New(info.Env());
    for (const auto& item : m->named_parameters()) {
      const auto& grad = item.value().grad();
      if (grad.defined()) out.Set(item.key(), to_float32_array(info.Env(), grad));
    }
    return out;
  });
}

// dropGradients(model, names): the named parameters lose their gradient, as if the forward
// pass had not used them.
Napi::Value DropGradients(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto m = model_argument(info, "dropGradients");
    if (info.Length() < 2 || !info[1].IsArray()) throw InvalidArgument("dropGradients(): names must be an array of parameter names");
    auto names = info[1].As<Napi::Array>();
    auto params = m->named_parameters();
    for (uint32_t i = 0; i < names.Length(); i++) {
      auto name = to_string(names.Get(i), "parameter name");
      auto* p = params.find(name);
      if (!p) throw InvalidArgument("dropGradients(): the model has no parameter '" + name + "'");
      if (p->grad().defined()) p->mutable_grad().reset();
    }
    return info.Env().Undefined();
  });
}

// Bytes that became resident while a CPU tensor of `bytes` was allocated and not written
// (/proc/self/statm's resident pages before and after; Linux). The heap's growth is populated
// at allocation (runtime/allocator.h); a fresh mmap or an unpopulated heap stays unresident.
Napi::Value ResidentGrowthOfAllocation(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    const int64_t bytes = to_int(info[0], "bytes", 1);
    auto resident = []() {
      std::ifstream statm("/proc/self/statm");
      long size = 0, pages = 0;
      if (!(statm >> size >> pages)) throw InvalidArgument("residentGrowthOfAllocation(): /proc/self/statm is unreadable");
      return static_cast<double>(pages) * static_cast<double>(sysconf(_SC_PAGESIZE));
    };
    const double before = resident();
    auto t = torch::empty({bytes}, torch::kUInt8);
    const double after = resident();
    return Napi::Number::New(info.Env(), after - before);
  });
}

Napi::Object define_testing(Napi::Env env) {
  auto t = Napi::Object::New(env);
  t.Set("polarExpress", Napi::Function::New<PolarExpress>(env, "polarExpress"));
  t.Set("adamwUpdate", Napi::Function::New<AdamwUpdate>(env, "adamwUpdate"));
  t.Set("muonUpdate", Napi::Function::New<MuonUpdate>(env, "muonUpdate"));
  t.Set("bpbSums", Napi::Function::New<BpbSumsFn>(env, "bpbSums"));
  t.Set("softcapCrossEntropy", Napi::Function::New<SoftcapCrossEntropyFn>(env, "softcapCrossEntropy"));
  t.Set("setAttentionBlockSize", Napi::Function::New<SetAttentionBlockSize>(env, "setAttentionBlockSize"));
  t.Set("cpuKernelVariants", Napi::Function::New<CpuKernelVariants>(env, "cpuKernelVariants"));
  t.Set("setCpuKernelVariant", Napi::Function::New<SetCpuKernelVariant>(env, "setCpuKernelVariant"));
  t.Set("softcapExpSum", Napi::Function::New<SoftcapExpSum>(env, "softcapExpSum"));
  t.Set("gradients", Napi::Function::New<Gradients>(env, "gradients"));
  t.Set("dropGradients", Napi::Function::New<DropGradients>(env, "dropGradients"));
  t.Set("residentGrowthOfAllocation", Napi::Function::New<ResidentGrowthOfAllocation>(env, "residentGrowthOfAllocation"));
  return t;
}

}  // namespace
}  // namespace ar

// The test addon's module registration (autoresearch_testing.node): the release addon's exports
// plus `testing`.
static Napi::Object InitTestAddon(Napi::Env env, Napi::Object exports) {
  ar::init_addon(env, exports);
  exports.Set("testing", ar::define_testing(env));
  return exports;
}
NODE_API_MODULE(autoresearch_testing, InitTestAddon)
