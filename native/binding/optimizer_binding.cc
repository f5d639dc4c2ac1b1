#include "binding/optimizer_binding.h"

#include "binding/addon_data.h"
#include "binding/js_convert.h"
#include "runtime/errors.h"

namespace ar {

Napi::Function OptimizerBinding::Define(Napi::Env env) {
  return DefineClass(env, "NativeOptimizer",
                     {
                         InstanceMethod<&OptimizerBinding::Step>("step"),
                         InstanceMethod<&OptimizerBinding::Groups>("groups"),
                         InstanceMethod<&OptimizerBinding::Steps>("steps"),
                         InstanceMethod<&OptimizerBinding::Dispose>("dispose"),
                     });
}

OptimizerBinding::OptimizerBinding(const Napi::CallbackInfo& info) : Napi::ObjectWrap<OptimizerBinding>(info) {
  guarded(info.Env(), [&] {
    auto* data = info.Env().GetInstanceData<AddonData>();
    if (info.Length() < 1 || !info[0].IsObject() || !info[0].As<Napi::Object>().InstanceOf(data->model.Value())) {
      throw InvalidArgument("NativeOptimizer expects a NativeModel as its first argument");
    }
    model_ = ModelBinding::Unwrap(info[0].As<Napi::Object>());
    model_ref_ = Napi::Persistent(info[0].As<Napi::Object>());
    auto cfg = to_optimizer_config(info[1]);
    optimizer_ = std::make_unique<MuonAdamW>(*model_->model("NativeOptimizer"), cfg);
  });
}

MuonAdamW& OptimizerBinding::optimizer(const char* caller) {
  if (!optimizer_) throw InvalidArgument(std::string(caller) + "(): the optimizer has been disposed");
  model_->model(caller);  // refuses when the model is disposed or busy
  return *optimizer_;
}

Napi::Value OptimizerBinding::Step(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto& opt = optimizer("step");
    opt.step(to_step_settings(info[0]));
    opt.zero_grad();
    return info.Env().Undefined();
  });
}

Napi::Value OptimizerBinding::Groups(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    auto groups = optimizer("groups").groups();
    auto out = Napi::Array::New(env, groups.size());
    for (uint32_t i = 0; i < groups.size(); i++) {
      auto g = Napi::Object::New(env);
      g.Set("kind", groups[i].kind);
      g.Set("name", groups[i].name);
      g.Set("initialLr", groups[i].initial_lr);
      g.Set("tensors", static_cast<double>(groups[i].tensors));
      if (!groups[i].shape.empty()) g.Set("shape", to_js_shape(env, groups[i].shape));
      if (groups[i].kind == "adamw") {
        g.Set("beta1", groups[i].beta1);
        g.Set("eps", groups[i].eps);
      }
      g.Set("beta2", groups[i].beta2);
      out.Set(i, g);
    }
    return out;
  });
}

Napi::Value OptimizerBinding::Steps(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(optimizer("steps").steps()));
  });
}

Napi::Value OptimizerBinding::Dispose(const Napi::CallbackInfo& info) {
  optimizer_.reset();
  if (!model_ref_.IsEmpty()) model_ref_.Reset();
  return info.Env().Undefined();
}

}  // namespace ar
