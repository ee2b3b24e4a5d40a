// Fits one block's gate probe (native/Probe.h) off the JS thread: a fit takes about a second per
// block in JavaScript on the real model, and an extraction fits every block.
#pragma once

#include <vector>

#include "Probe.h"
#include "workers/PromiseWorker.h"

namespace inferaligner {

class ProbeWorker : public PromiseWorker {
 public:
  // The rows are copied here, on the JS thread; `owner` is the harmful rows' array.
  ProbeWorker(Napi::Env env, Napi::Object owner, std::vector<float> harmful, std::vector<float> harmless, size_t d,
      ProbeFitSettings settings);

 protected:
  void Run() override;
  Napi::Value Resolve(Napi::Env env) override;

 private:
  std::vector<float> harmful_;
  std::vector<float> harmless_;
  size_t d_;
  ProbeFitSettings settings_;
  std::vector<float> directions_;
};

// fitGateProbe(harmful: Float32Array, harmless: Float32Array, d, { l2, wholeIterations,
// foldIterations, folds }): Promise<Float32Array>, (1 + folds) x d.
Napi::Value JS_FitGateProbe(const Napi::CallbackInfo& info);

}  // namespace inferaligner
