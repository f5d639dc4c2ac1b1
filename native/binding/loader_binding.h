// The JavaScript class NativeDataLoader: one token file, mapped, and its best-fit packer.
// next() is synchronous (microseconds per batch) and writes the batch straight into fresh
// Int32Arrays; dispose() unmaps the file at once instead of waiting for the collector.
#pragma once

#include <napi.h>

namespace ar {

// Adds NativeDataLoader to the addon's exports.
void define_loader(Napi::Env env, Napi::Object exports);

}  // namespace ar
