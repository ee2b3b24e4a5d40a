// AddonContext: one llama_context (KV cache, compute buffers) over an AddonModel, with the token
// history of its sequence 0. JS: lib/Context.ts. One operation runs at a time (busy flag).
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>
#include <vector>

#include "LayerHook.h"
#include "llama.h"

namespace inferaligner {

class AddonModel;

class AddonContext : public Napi::ObjectWrap<AddonContext> {
 public:
  static Napi::Function Init(Napi::Env env);

  // new AddonContext(model, {contextSize, batchSize, ubatchSize, threads, threadsBatch, sequences,
  //                          swaFull, kvUnified, flashAttention, evalHook})
  explicit AddonContext(const Napi::CallbackInfo& info);
  ~AddonContext() override;

  AddonModel* model = nullptr;
  llama_context* ctx = nullptr;
  llama_context_params params{};
  std::vector<llama_token> history;  // tokens of sequence 0 held in the KV cache, in order
  // First position of `history` whose KV cell was computed under a guidance shift (every later
  // cell attended to it), or kNoShift. Such cells are what an earlier steered turn computed, not
  // what an unsteered prefill of the same tokens computes.
  static constexpr size_t kNoShift = static_cast<size_t>(-1);
  size_t shiftedFrom = kNoShift;
  std::atomic<bool> abortRequested{false};
  // Per-layer capture and shifts inside llama_decode; only for contexts created with evalHook.
  std::unique_ptr<LayerHook> layerHook;
  bool evalHookInstalled = false;

  // --- worker-thread helpers (caller holds the busy flag) ---
  // Keeps the longest usable prefix of `history` shared with `tokens`, dropping the rest from the
  // KV cache; returns how many tokens were kept. Leaves at least one token of `tokens` to decode.
  // Cells at or after `turnStart` (the call's own turn) are reused only if no guidance shift
  // went into them; cells before it are the conversation's earlier turns, kept as computed.
  size_t ReusePrefix(const std::vector<llama_token>& tokens, size_t turnStart);
  // history.resize(n), forgetting the shift marker when the shifted cells are gone.
  void TruncateHistory(size_t n);
  // Decodes tokens[from..] in n_batch chunks as sequence 0, asking logits for the last one.
  // Returns the llama_decode status of the first failure (0 when all went in).
  int32_t DecodeTail(const std::vector<llama_token>& tokens, size_t from);
  int32_t DecodeOne(llama_token token);
  // After a failed or aborted decode of `intended` (history + what was being added): make
  // `history` match what the KV cache really holds.
  void ResyncHistory(const std::vector<llama_token>& intended);

 private:
  void CheckIdle(Napi::Env env) const;
  void BeginOperation(Napi::Env env);

  Napi::Value JS_Init(const Napi::CallbackInfo& info);
  Napi::Value JS_Info(const Napi::CallbackInfo& info);
  Napi::Value JS_Generate(const Napi::CallbackInfo& info);
  Napi::Value JS_Abort(const Napi::CallbackInfo& info);
  Napi::Value JS_Tokens(const Napi::CallbackInfo& info);
  Napi::Value JS_Clear(const Napi::CallbackInfo& info);
  Napi::Value JS_SetControlVector(const Napi::CallbackInfo& info);
  Napi::Value JS_Capture(const Napi::CallbackInfo& info);
  Napi::Value JS_SetLayerShift(const Napi::CallbackInfo& info);
  Napi::Value JS_Dispose(const Napi::CallbackInfo& info);
  Napi::Value JS_GetBusy(const Napi::CallbackInfo& info);

  friend class CreateContextWorker;
  friend class GenerateWorker;
  friend class CaptureWorker;
  Napi::ObjectReference modelRef_;
  std::atomic<bool> busy_{false};
  bool disposed_ = false;
  bool creating_ = false;
};

}  // namespace inferaligner
