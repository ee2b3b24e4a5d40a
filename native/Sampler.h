// Sampling settings copied from JS, and the llama.cpp sampler chain built from them.
#pragma once

#include <napi.h>

#include <cstdint>

#include "llama.h"

namespace inferaligner {

struct SamplingOptions {
  float temperature = 0.0f;  // <= 0: greedy (argmax)
  int32_t topK = 0;          // 0: off
  float topP = 1.0f;         // 1: off
  float minP = 0.0f;         // 0: off
  uint32_t seed = LLAMA_DEFAULT_SEED;

  static SamplingOptions FromJs(const Napi::Object& o);
};

// Owns a llama_sampler chain.
class Sampler {
 public:
  explicit Sampler(const SamplingOptions& options);
  ~Sampler();
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  // Samples from the logits of output `idx` of the last decode and accepts the token.
  llama_token Sample(llama_context* ctx, int32_t idx) { return llama_sampler_sample(chain_, ctx, idx); }

 private:
  llama_sampler* chain_;
};

}  // namespace inferaligner
