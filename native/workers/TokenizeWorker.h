// Tokenizes a text off the JS thread. llama.cpp's tokenizers are superlinear on long texts without
// word boundaries (a 1 MB prompt on a byte-level BPE vocabulary takes minutes), so a long prompt
// must not freeze the event loop. The model counts running tokenizations and refuses to be freed
// while one runs (lib/Model.ts waits for them first).
#pragma once

#include <string>
#include <vector>

#include "llama.h"
#include "workers/PromiseWorker.h"

namespace inferaligner {

class AddonModel;

class TokenizeWorker : public PromiseWorker {
 public:
  // limit > 0: more tokens than that is ERR_CONTEXT_OVERFLOW. The caller counts the job in
  // model->activeJobs once it is queued; Finish() uncounts it.
  TokenizeWorker(Napi::Env env, AddonModel* model, Napi::Object owner, std::string text, bool addSpecial,
      bool parseSpecial, int32_t limit);

 protected:
  void Run() override;
  Napi::Value Resolve(Napi::Env env) override;
  void Finish() override;

 private:
  AddonModel* model_;
  std::string text_;
  bool addSpecial_;
  bool parseSpecial_;
  int32_t limit_;
  std::vector<llama_token> tokens_;
};

}  // namespace inferaligner
