// The JavaScript class NativeOptimizer: MuonAdamW over one NativeModel's parameters.
// step(settings) applies the update with the schedule values computed in TypeScript and
// clears the gradients for the next accumulation round.
#pragma once

#include <napi.h>

#include <memory>

#include "binding/model_binding.h"
#include "optimizer/muon_adamw.h"

namespace ar {

class OptimizerBinding : public Napi::ObjectWrap<OptimizerBinding> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit OptimizerBinding(const Napi::CallbackInfo& info);

 private:
  Napi::Value Step(const Napi::CallbackInfo& info);
  Napi::Value Groups(const Napi::CallbackInfo& info);
  Napi::Value Steps(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  MuonAdamW& optimizer(const char* caller);

  Napi::ObjectReference model_ref_;  // keeps the model alive while the optimizer exists
  ModelBinding* model_ = nullptr;
  std::unique_ptr<MuonAdamW> optimizer_;
};

}  // namespace ar
