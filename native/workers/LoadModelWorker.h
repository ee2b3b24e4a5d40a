// Loads a GGUF model off the JS thread and classifies load failures into error codes.
#pragma once

#include "workers/PromiseWorker.h"

namespace inferaligner {

class AddonModel;

// llama.cpp's load progress (0..1), streamed to the optional JS listener; AddonModel's abortLoad()
// (an AbortSignal) cancels the load through llama.cpp's progress callback: ERR_ABORTED.
class LoadModelWorker : public StreamingPromiseWorker<float> {
 public:
  LoadModelWorker(Napi::Env env, AddonModel* model, Napi::Object owner, Napi::Function onProgress);

 protected:
  void Run(const Progress& progress) override;
  void OnEvents(Napi::Env env, const float* events, size_t count) override;
  void Finish() override;

 private:
  static bool OnLoadProgress(float fraction, void* user);

  AddonModel* model_;
  Napi::FunctionReference onProgress_;
  const Progress* progress_ = nullptr;  // set while Run() is on the stack
  float lastSent_ = -1.0f;
};

}  // namespace inferaligner
