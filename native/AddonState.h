// Per-environment state of the addon (one per Node.js main thread or worker thread).
#pragma once

#include <napi.h>

namespace inferaligner {

struct AddonState {
  Napi::FunctionReference errorClass;
  Napi::FunctionReference modelClass;
  Napi::FunctionReference contextClass;

  static AddonState& Get(Napi::Env env) { return *env.GetInstanceData<AddonState>(); }
};

}  // namespace inferaligner
