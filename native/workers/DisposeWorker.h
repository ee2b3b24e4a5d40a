// Frees native memory off the JS thread (llama_free / llama_model_free can take a while on large
// models). The JS-side bookkeeping was done before queueing; this is the second phase.
#pragma once

#include <functional>

#include "workers/PromiseWorker.h"

namespace inferaligner {

class DisposeWorker : public PromiseWorker {
 public:
  DisposeWorker(Napi::Env env, Napi::Object owner, std::function<void()> free)
      : PromiseWorker(env, "inferaligner:Dispose", owner), free_(std::move(free)) {}

 protected:
  void Run() override { free_(); }

 private:
  std::function<void()> free_;
};

}  // namespace inferaligner
