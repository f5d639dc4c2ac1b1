// Long native work off the JavaScript thread: a task runs on the libuv thread pool and
// settles a Promise. Arguments are copied into plain C++ values before queuing (the task
// closure owns them); libtorch exceptions become rejections with readable messages.
// Grad-mode guards are thread-local, so tasks set them inside (see run_no_grad).
#pragma once

#include <napi.h>
#include <torch/torch.h>

#include <functional>
#include <optional>

#include "runtime/errors.h"

namespace ar {

template <typename Result>
class AsyncTask : public Napi::AsyncWorker {
 public:
  using Task = std::function<Result()>;
  using ToJs = std::function<Napi::Value(Napi::Env, Result&)>;
  using Done = std::function<void()>;

  // Queues the task and returns its Promise. done runs on the JavaScript thread either way.
  static Napi::Promise Start(Napi::Env env, Task task, ToJs to_js, Done done = {}) {
    auto* worker = new AsyncTask(env, std::move(task), std::move(to_js), std::move(done));
    auto promise = worker->deferred_.Promise();
    worker->Queue();
    return promise;
  }

 protected:
  void Execute() override {
    try {
      torch::NoGradGuard no_grad;
      result_.emplace(task_());
    } catch (...) {
      SetError(current_exception_message());
    }
  }
  void OnOK() override {
    if (done_) done_();
    Napi::HandleScope scope(Env());
    deferred_.Resolve(to_js_(Env(), *result_));
  }
  void OnError(const Napi::Error& error) override {
    if (done_) done_();
    deferred_.Reject(error.Value());
  }

 private:
  AsyncTask(Napi::Env env, Task task, ToJs to_js, Done done)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), task_(std::move(task)),
        to_js_(std::move(to_js)), done_(std::move(done)) {}

  Napi::Promise::Deferred deferred_;
  Task task_;
  ToJs to_js_;
  Done done_;
  std::optional<Result> result_;
};

}  // namespace ar
