// Loads a GGUF model off the JS thread and classifies load failures into error codes.
#pragma once

#include "workers/PromiseWorker.h"

namespace inferaligner {

class AddonModel;

class LoadModelWorker : public PromiseWorker {
 public:
  LoadModelWorker(Napi::Env env, AddonModel* model, Napi::Object owner);

 protected:
  void Run() override;
  void Finish() override;

 private:
  AddonModel* model_;
};

}  // namespace inferaligner
