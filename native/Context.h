// AddonContext: one llama_context (KV cache, compute buffers) over an AddonModel, with the token
// history of its sequence 0. JS: lib/Context.ts. One operation runs at a time (busy flag).
#pragma once

#include <napi.h>

#include <algorithm>
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

  // --- what the workers read (the caller holds the busy flag, or the creating flag) ---
  llama_context* ctx() const { return ctx_; }
  llama_model* llamaModel() const;
  const llama_vocab* vocab() const;
  const llama_context_params& params() const { return params_; }
  // Tokens of sequence 0 held in the KV cache, in order.
  const std::vector<llama_token>& history() const { return history_; }
  // Per-layer capture and shifts inside llama_decode; null unless created with evalHook.
  LayerHook* layerHook() const { return layerHook_.get(); }
  // Set from the JS thread (abort(), a throwing listener); llama_decode polls it between graph nodes.
  bool abortRequested() const { return abortRequested_.load(std::memory_order_relaxed); }
  void RequestAbort() { abortRequested_.store(true); }

  // --- worker-thread helpers (caller holds the busy flag) ---
  // CreateContextWorker: the llama_context made from params(), owned from here on.
  void Adopt(llama_context* ctx) { ctx_ = ctx; }
  // Keeps the longest usable prefix of history() shared with `tokens`, dropping the rest from the
  // KV cache; returns how many tokens were kept. Leaves at least one token of `tokens` to decode.
  // Cells at or after `turnStart` (the call's own turn) are reused only if no guidance shift
  // went into them; cells before it are the conversation's earlier turns, kept as computed.
  // Keeps the longest cached prefix of `tokens` and returns its length; at least `evaluate` of the
  // last tokens are left to decode (the last for its logits; a pooled gate needs its rows).
  size_t ReusePrefix(const std::vector<llama_token>& tokens, size_t turnStart, size_t evaluate = 1);
  // Removes the KV cells of sequence 0 from position `pos` on and cuts history() to `pos`, so that
  // decoding continues at `pos`. Returns false when the cells before `pos` cannot be continued
  // from: llama.cpp refused the partial removal, or a sliding-window cache has already pruned
  // cells that position `pos` attends to. Then the whole sequence is gone (cache and history).
  bool DropFrom(size_t pos);
  // Cuts history() to n tokens, forgetting the shift marker when the shifted cells are gone.
  void TruncateHistory(size_t n);
  // Marks the cells from `pos` on as computed under a guidance shift (see shiftedFrom_).
  void MarkShiftedFrom(size_t pos) { shiftedFrom_ = std::min(shiftedFrom_, pos); }
  // Decodes tokens[from..] in n_batch chunks as sequence 0, asking logits for the last one.
  // Returns the llama_decode status of the first failure (0 when all went in).
  int32_t DecodeTail(const std::vector<llama_token>& tokens, size_t from);
  int32_t DecodeOne(llama_token token);
  // llama_decode on this context. A compute buffer that llama.cpp cannot allocate (its scheduler
  // reserves again after an adapter change, e.g. a control vector) is thrown, not returned: that
  // is status -2 here, its reason kept in decodeFailure() until the next decode.
  int32_t Decode(const llama_batch& batch);
  const std::string& decodeFailure() const { return decodeFailure_; }
  // After a failed or aborted decode of `intended` (history + what was being added): make
  // `history` match what the KV cache really holds.
  void ResyncHistory(const std::vector<llama_token>& intended);

  // --- JS thread, from a worker's Finish() ---
  void EndOperation() { busy_.store(false); }
  void EndCreation() { creating_ = false; }

 private:
  static bool EvalTrampoline(ggml_tensor* t, bool ask, void* user);
  static bool AbortTrampoline(void* user);
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

  AddonModel* model_ = nullptr;
  llama_context* ctx_ = nullptr;
  llama_context_params params_{};
  std::vector<llama_token> history_;
  std::string decodeFailure_;
  // First position of `history_` whose KV cell was computed under a guidance shift (every later
  // cell attended to it), or kNoShift. Such cells are what an earlier steered turn computed, not
  // what an unsteered prefill of the same tokens computes.
  static constexpr size_t kNoShift = static_cast<size_t>(-1);
  size_t shiftedFrom_ = kNoShift;
  std::atomic<bool> abortRequested_{false};
  std::unique_ptr<LayerHook> layerHook_;
  bool evalHookInstalled_ = false;
  Napi::ObjectReference modelRef_;
  std::atomic<bool> busy_{false};
  bool disposed_ = false;
  bool creating_ = false;
};

}  // namespace inferaligner
