// Internals exposed to the test-suite (as the addon's `testing` object, which the library never
// uses) so that single pieces can be checked against hand computations on small tensors: the
// same functions the model and optimizer call, and the switches tests turn (attention block
// size, CPU kernel variant).
#pragma once

#include <napi.h>

namespace ar {

Napi::Object define_testing(Napi::Env env);

}  // namespace ar
