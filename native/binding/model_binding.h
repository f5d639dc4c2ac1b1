// The JavaScript class NativeModel: owns one GPT on its device. Synchronous methods for the
// training step (called in a tight loop, returns the loss); Promise-returning methods for
// long work (evaluation, logits, checkpoint I/O), which run on the thread pool. While such a
// task runs the model is busy and every other call is refused with a message, never a race.
#pragma once

#include <napi.h>

#include <memory>
#include <string>

#include "model/gpt.h"

namespace ar {

class ModelBinding : public Napi::ObjectWrap<ModelBinding> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit ModelBinding(const Napi::CallbackInfo& info);

  // The live model; throws if disposed or busy with an asynchronous task.
  std::shared_ptr<GPT> model(const char* caller);

 private:
  Napi::Value ForwardBackward(const Napi::CallbackInfo& info);
  Napi::Value Logits(const Napi::CallbackInfo& info);
  Napi::Value PerTokenLoss(const Napi::CallbackInfo& info);
  Napi::Value BpbSums(const Napi::CallbackInfo& info);
  Napi::Value Parameters(const Napi::CallbackInfo& info);
  Napi::Value ParamCounts(const Napi::CallbackInfo& info);
  Napi::Value DeviceInfo(const Napi::CallbackInfo& info);
  Napi::Value Save(const Napi::CallbackInfo& info);
  Napi::Value Load(const Napi::CallbackInfo& info);
  Napi::Value Synchronize(const Napi::CallbackInfo& info);
  Napi::Value PeakMemoryBytes(const Napi::CallbackInfo& info);
  Napi::Value ResetPeakMemory(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value IsDisposed(const Napi::CallbackInfo& info);

  // Marks the model busy for the lifetime of an async task; returns the release callback.
  std::function<void()> claim(const char* task);

  std::shared_ptr<GPT> model_;
  std::shared_ptr<std::string> busy_ = std::make_shared<std::string>();  // running task, "" when idle
};

}  // namespace ar
