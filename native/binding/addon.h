// The addon's exports: NativeModel, NativeOptimizer, NativeDataLoader, the tokenizer classes
// (NativeBpeTrainer, NativeTokenizer) and the runtime functions (threads, seed, device and build
// facts, matmul probe). lib/native/addon.ts is the hand-written TypeScript description of them.
// Two modules register these: the release addon (binding/module.cc) and the test addon
// (testing/testing_binding.cc), which adds the `testing` object.
#pragma once

#include <napi.h>

namespace ar {

Napi::Object init_addon(Napi::Env env, Napi::Object exports);

}  // namespace ar
