// Per-environment state of the addon (safe with worker threads): the class constructors,
// kept to check that arguments really are our objects.
#pragma once

#include <napi.h>

namespace ar {

struct AddonData {
  Napi::FunctionReference model;
  Napi::FunctionReference optimizer;
};

}  // namespace ar
