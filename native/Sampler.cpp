#include "Sampler.h"

#include "common.h"

namespace inferaligner {

SamplingOptions SamplingOptions::FromJs(const Napi::Object& o) {
  SamplingOptions s;
  s.temperature = static_cast<float>(OptDouble(o, "temperature", s.temperature));
  s.topK = OptInt(o, "topK", s.topK);
  s.topP = static_cast<float>(OptDouble(o, "topP", s.topP));
  s.minP = static_cast<float>(OptDouble(o, "minP", s.minP));
  if (o.Has("seed") && o.Get("seed").IsNumber()) s.seed = o.Get("seed").As<Napi::Number>().Uint32Value();
  return s;
}

Sampler::Sampler(const SamplingOptions& o) {
  llama_sampler_chain_params params = llama_sampler_chain_default_params();
  params.no_perf = true;
  chain_ = llama_sampler_chain_init(params);
  if (o.temperature <= 0.0f) {
    llama_sampler_chain_add(chain_, llama_sampler_init_greedy());
    return;
  }
  // The usual llama.cpp order: truncate the distribution, then temperature, then draw.
  if (o.topK > 0) llama_sampler_chain_add(chain_, llama_sampler_init_top_k(o.topK));
  if (o.topP < 1.0f) llama_sampler_chain_add(chain_, llama_sampler_init_top_p(o.topP, 1));
  if (o.minP > 0.0f) llama_sampler_chain_add(chain_, llama_sampler_init_min_p(o.minP, 1));
  llama_sampler_chain_add(chain_, llama_sampler_init_temp(o.temperature));
  llama_sampler_chain_add(chain_, llama_sampler_init_dist(o.seed));
}

Sampler::~Sampler() { llama_sampler_free(chain_); }

}  // namespace inferaligner
