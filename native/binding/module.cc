// The release addon's module registration (autoresearch.node). The test addon registers its
// own in testing/testing_binding.cc; this file is compiled per addon (it tests
// AUTORESEARCH_TESTING) so that a module has exactly one registration.
#include <napi.h>

#include "binding/addon.h"

#if !AUTORESEARCH_TESTING
static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return ar::init_addon(env, exports); }
NODE_API_MODULE(autoresearch, InitAddon)
#endif
