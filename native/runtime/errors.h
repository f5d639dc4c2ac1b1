// Turning native failures into JavaScript errors.
// Every entry point runs inside guarded(): c10::Error (libtorch), then std::exception, then
// anything else becomes a JavaScript Error with a readable message and never aborts the process.
// InvalidArgument is what our own input checks throw; its message names the problem and the fix.
#pragma once

#include <napi.h>
#include <c10/util/Exception.h>

#include <stdexcept>
#include <string>

namespace ar {

struct InvalidArgument : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// libtorch messages carry a C++ backtrace; keep the human part only.
std::string torch_message(const c10::Error& e);

// Message for whatever is currently being handled (call inside a catch block).
std::string current_exception_message();

template <typename Fn>
auto guarded(const Napi::Env& env, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw Napi::Error::New(env, current_exception_message());
  }
}

}  // namespace ar
