// Evaluates a list of prompts, several per llama_decode (one sequence each), and copies out the
// residual stream (l_out) of chosen layers at each prompt's last token. The KV cache is used as
// scratch: it is cleared before and after, and the context's token history is emptied.
#pragma once

#include <string>
#include <vector>

#include "llama.h"
#include "workers/PromiseWorker.h"

namespace inferaligner {

class AddonContext;

class CaptureWorker : public PromiseWorker {
 public:
  // allRows: one prompt only; copy every row each layer's tensor holds (the reference path for
  // tests). The last block's tensor holds only the output row (the prompt's last token).
  // lastRows: copy each prompt's last `lastRows` rows (they are all made outputs, so the last block
  // has them too), e.g. to pool over the chat template's tokens after the user's text.
  CaptureWorker(Napi::Env env, AddonContext* context, Napi::Object owner, std::vector<std::vector<llama_token>> prompts,
      std::vector<int32_t> layers, bool allRows, uint32_t lastRows = 1);

 protected:
  void Run() override;
  Napi::Value Resolve(Napi::Env env) override;
  void Finish() override;

 private:
  void RunGroup(size_t first, size_t count);
  void DecodeChecked(llama_batch& batch);

  AddonContext* context_;
  std::vector<std::vector<llama_token>> prompts_;
  std::vector<int32_t> layers_;
  bool allRows_;
  size_t lastRows_;
  std::vector<float> rows_;  // [prompt][layer][lastRows][n_embd], or [layer][row][n_embd] with allRows
  size_t decodes_ = 0;
  size_t tokens_ = 0;
  double ms_ = 0;
};

}  // namespace inferaligner
