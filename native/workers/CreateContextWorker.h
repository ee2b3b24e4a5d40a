// Creates the llama_context (allocates the KV cache and compute buffers) off the JS thread.
#pragma once

#include "workers/PromiseWorker.h"

namespace inferaligner {

class AddonContext;

class CreateContextWorker : public PromiseWorker {
 public:
  CreateContextWorker(Napi::Env env, AddonContext* context, Napi::Object owner);

 protected:
  void Run() override;
  void Finish() override;

 private:
  AddonContext* context_;
};

}  // namespace inferaligner
