// One generation on a context: reuse the cached prefix, decode the rest of the prompt, then sample
// and decode token by token until an end-of-generation token, a stop string, maxTokens, a full
// context, or abort. Streams each token (and the text it releases) to an optional JS callback.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "Guidance.h"
#include "Sampler.h"
#include "TextAssembler.h"
#include "workers/PromiseWorker.h"

namespace inferaligner {

class AddonContext;

struct TokenEvent {
  llama_token token = 0;
  std::string text;  // text released by this token (may be empty: held back or partial UTF-8)
};

class GenerateWorker : public StreamingPromiseWorker<TokenEvent> {
 public:
  // options: {maxTokens, stop: string[], captureLogits, temperature, topK, topP, minP, seed}
  GenerateWorker(Napi::Env env, AddonContext* context, Napi::Object owner, std::vector<llama_token> prompt,
      const Napi::Object& options, Napi::Function onToken, GuidanceOptions guidance);

 protected:
  void Run(const Progress& progress) override;
  void OnEvents(Napi::Env env, const TokenEvent* events, size_t count) override;
  Napi::Value Resolve(Napi::Env env) override;
  void Finish() override;

 private:
  void DecodePrompt();
  void DecidePromptGate(const std::vector<std::vector<float>>& gateRows);
  int32_t RollBackTurn();
  bool OnePassApplies() const;
  void ArmOnePass();
  void ApplyShift(size_t shiftedFrom);
  void ClearShift();
  void Emit(const Progress& progress, llama_token token, std::string text);

  AddonContext* context_;
  std::vector<llama_token> prompt_;
  SamplingOptions sampling_;
  int32_t maxTokens_ = -1;  // < 0: until the context is full
  size_t turnStart_ = 0;    // prompt tokens that belong to earlier turns (never re-steered)
  bool captureLogits_ = false;
  std::vector<std::string> stops_;
  Napi::FunctionReference onToken_;
  GuidanceOptions guidance_;
  GateDecision gate_;
  bool shifted_ = false;
  Napi::ObjectReference listenerError_;

  // results
  std::vector<llama_token> generated_;
  std::vector<std::vector<float>> logits_;
  std::string text_;
  std::string stopReason_;
  std::string matchedStop_;
  size_t reused_ = 0;
  size_t promptEvaluated_ = 0;
  double promptMs_ = 0;
  double generationMs_ = 0;
};

}  // namespace inferaligner
