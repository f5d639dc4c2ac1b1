// Internals exposed to the test-suite so that single pieces can be checked against hand
// computations on small tensors: the same functions the model and optimizer call.
#pragma once

#include <napi.h>

namespace ar {

Napi::Object define_testing(Napi::Env env);

}  // namespace ar
