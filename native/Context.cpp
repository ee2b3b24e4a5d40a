#include "Context.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "AddonState.h"
#include "Model.h"
#include "common.h"
#include "errors.h"
#include "workers/CaptureWorker.h"
#include "workers/CreateContextWorker.h"
#include "workers/DisposeWorker.h"
#include "workers/GenerateWorker.h"

namespace inferaligner {

// llama.cpp calls this for every graph node when installed; it forwards to the context's hook.
bool AddonContext::EvalTrampoline(ggml_tensor* t, bool ask, void* user) {
  auto* self = static_cast<AddonContext*>(user);
  if (!self->layerHook_ || !self->layerHook_->active()) return ask ? false : true;
  return self->layerHook_->OnTensor(t, ask);
}

bool AddonContext::AbortTrampoline(void* user) { return static_cast<AddonContext*>(user)->abortRequested(); }

llama_model* AddonContext::llamaModel() const { return model_->model; }
const llama_vocab* AddonContext::vocab() const { return model_->vocab; }

Napi::Function AddonContext::Init(Napi::Env env) {
  Napi::Function ctor = DefineClass(env, "AddonContext",
      {
          InstanceMethod<&AddonContext::JS_Init>("init"),
          InstanceMethod<&AddonContext::JS_Info>("info"),
          InstanceMethod<&AddonContext::JS_Generate>("generate"),
          InstanceMethod<&AddonContext::JS_Abort>("abort"),
          InstanceMethod<&AddonContext::JS_Tokens>("tokens"),
          InstanceMethod<&AddonContext::JS_Clear>("clear"),
          InstanceMethod<&AddonContext::JS_SetControlVector>("setControlVector"),
          InstanceMethod<&AddonContext::JS_Capture>("capture"),
          InstanceMethod<&AddonContext::JS_SetLayerShift>("setLayerShift"),
          InstanceMethod<&AddonContext::JS_Dispose>("dispose"),
          InstanceAccessor<&AddonContext::JS_GetBusy>("busy"),
      });
  AddonState::Get(env).contextClass = Napi::Persistent(ctor);
  return ctor;
}

AddonContext::AddonContext(const Napi::CallbackInfo& info) : ObjectWrap<AddonContext>(info) {
  Napi::Env env = info.Env();
  model_ = AddonModel::Unwrap(info[0]);
  model_->CheckUsable(env);
  // The context borrows the model's weights: keep the JS model alive as long as this context.
  modelRef_ = Napi::Persistent(info[0].As<Napi::Object>());
  model_->liveContexts++;

  params_ = llama_context_default_params();
  params_.no_perf = true;
  params_.abort_callback = AbortTrampoline;
  params_.abort_callback_data = this;
  if (info[1].IsObject()) {
    Napi::Object o = info[1].As<Napi::Object>();
    params_.n_ctx = OptUint(o, "contextSize", params_.n_ctx);
    params_.n_batch = OptUint(o, "batchSize", params_.n_batch);
    params_.n_ubatch = OptUint(o, "ubatchSize", params_.n_ubatch);
    params_.n_seq_max = OptUint(o, "sequences", params_.n_seq_max);
    params_.n_threads = OptInt(o, "threads", params_.n_threads);
    params_.n_threads_batch = OptInt(o, "threadsBatch", params_.n_threads);
    params_.swa_full = OptBool(o, "swaFull", params_.swa_full);
    params_.kv_unified = OptBool(o, "kvUnified", params_.kv_unified);
    const int32_t fa = OptInt(o, "flashAttention", -1);  // -1 auto, 0 off, 1 on
    params_.flash_attn_type = fa < 0 ? LLAMA_FLASH_ATTN_TYPE_AUTO
                                     : (fa == 0 ? LLAMA_FLASH_ATTN_TYPE_DISABLED : LLAMA_FLASH_ATTN_TYPE_ENABLED);
    if (OptBool(o, "evalHook", false)) {
      params_.cb_eval = EvalTrampoline;
      params_.cb_eval_user_data = this;
      evalHookInstalled_ = true;
      layerHook_ = std::make_unique<LayerHook>(llama_model_n_layer(model_->model), llama_model_n_embd(model_->model));
    }
  }
  // A ubatch larger than the batch is never used; llama.cpp would clamp it anyway.
  params_.n_ubatch = std::min(params_.n_ubatch, params_.n_batch);
}

AddonContext::~AddonContext() {
  // Backstop only: JS disposes explicitly. Workers hold a reference, so no operation is running.
  if (ctx_) {
    llama_free(ctx_);
    ctx_ = nullptr;
  }
  if (model_ && !disposed_) model_->liveContexts--;
}

void AddonContext::CheckIdle(Napi::Env env) const {
  if (disposed_) ThrowError(env, ErrorCode::Disposed, "the context has been disposed");
  if (!ctx_) ThrowError(env, ErrorCode::Internal, "the context is not initialised");
  if (busy_.load()) ThrowError(env, ErrorCode::ContextBusy, "another operation is running on this context");
}

void AddonContext::BeginOperation(Napi::Env env) {
  CheckIdle(env);
  busy_.store(true);
  abortRequested_.store(false);
}

Napi::Value AddonContext::JS_Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (disposed_) ThrowError(env, ErrorCode::Disposed, "the context has been disposed");
  if (ctx_ || creating_) ThrowError(env, ErrorCode::Internal, "the context is already initialised");
  model_->CheckUsable(env);
  creating_ = true;
  auto* worker = new CreateContextWorker(env, this, info.This().As<Napi::Object>());
  worker->Queue();
  return worker->Promise();
}

Napi::Value AddonContext::JS_Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (disposed_) ThrowError(env, ErrorCode::Disposed, "the context has been disposed");
  if (!ctx_) ThrowError(env, ErrorCode::Internal, "the context is not initialised");
  Napi::Object o = Napi::Object::New(env);
  o.Set("contextSize", llama_n_ctx(ctx_));
  o.Set("batchSize", llama_n_batch(ctx_));
  o.Set("ubatchSize", llama_n_ubatch(ctx_));
  o.Set("sequences", llama_n_seq_max(ctx_));
  o.Set("threads", llama_n_threads(ctx_));
  o.Set("threadsBatch", llama_n_threads_batch(ctx_));
  o.Set("swaFull", params_.swa_full);
  o.Set("kvUnified", params_.kv_unified);
  o.Set("evalHook", evalHookInstalled_);
  return o;
}

Napi::Value AddonContext::JS_Generate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // Validate before taking the busy flag, so a bad call leaves the context as it was.
  std::vector<llama_token> prompt = ReadTokens(info[0]);
  if (prompt.empty()) ThrowTypeError(env, "the prompt has no tokens");
  if (!info[1].IsObject()) ThrowTypeError(env, "generate options must be an object");
  Napi::Object options = info[1].As<Napi::Object>();
  if (disposed_) ThrowError(env, ErrorCode::Disposed, "the context has been disposed");
  const int32_t n_vocab = llama_vocab_n_tokens(model_->vocab);
  for (llama_token t : prompt) {
    if (t < 0 || t >= n_vocab) {
      ThrowRangeError(env, "token id " + std::to_string(t) + " is outside the vocabulary");
    }
  }
  Napi::Function onToken = info[2].IsFunction() ? info[2].As<Napi::Function>() : Napi::Function();
  GuidanceOptions guidance;
  if (options.Has("guidance") && options.Get("guidance").IsObject()) {
    guidance = GuidanceOptions::FromJs(options.Get("guidance").As<Napi::Object>(), llama_model_n_layer(model_->model),
        llama_model_n_embd(model_->model));
    if (guidance.active() && !layerHook_)
      ThrowError(env, ErrorCode::InvalidArgument, "guidance needs a context created with evalHook");
  }
  BeginOperation(env);
  auto* worker = new GenerateWorker(
      env, this, info.This().As<Napi::Object>(), std::move(prompt), options, onToken, std::move(guidance));
  worker->Queue();
  return worker->Promise();
}

// Asks the running operation to stop; llama_decode checks the flag between graph nodes (CPU).
Napi::Value AddonContext::JS_Abort(const Napi::CallbackInfo& info) {
  RequestAbort();
  return info.Env().Undefined();
}

Napi::Value AddonContext::JS_Tokens(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckIdle(env);
  return MakeTokenArray(env, history_);
}

Napi::Value AddonContext::JS_Clear(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckIdle(env);
  llama_memory_clear(llama_get_memory(ctx_), true);
  TruncateHistory(0);
  return env.Undefined();
}

// setControlVector(Float32Array data | null, layerStart, layerEnd): llama.cpp's control vector,
// `data` holding n_embd floats per layer starting at layer 1. null clears it.
Napi::Value AddonContext::JS_SetControlVector(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckIdle(env);
  const int32_t n_embd = llama_model_n_embd(model_->model);
  int32_t rc;
  if (info[0].IsNull() || info[0].IsUndefined()) {
    rc = llama_set_adapter_cvec(ctx_, nullptr, 0, n_embd, 0, 0);
  } else {
    // An Int8Array of 192 bytes read as 192 floats would read past its end: check the element type.
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      ThrowTypeError(env, "control vector data must be a Float32Array");
    }
    if (!info[1].IsNumber() || !info[2].IsNumber()) ThrowTypeError(env, "control vector layers must be numbers");
    Napi::Float32Array data = info[0].As<Napi::Float32Array>();
    const int32_t start = info[1].As<Napi::Number>().Int32Value();
    const int32_t end = info[2].As<Napi::Number>().Int32Value();
    rc = llama_set_adapter_cvec(ctx_, data.Data(), data.ElementLength(), n_embd, start, end);
  }
  if (rc != 0) ThrowError(env, ErrorCode::InvalidArgument, "llama.cpp rejected the control vector");
  return env.Undefined();
}

// capture(prompts: Uint32Array[], {layers, allRows, lastRows}) -> Promise<{rows: Float32Array, decodes, tokens, ms}>
// rows: [prompt][layer][lastRows][n_embd] at each prompt's last `lastRows` tokens (default 1; allRows:
// one prompt, [layer][token][n_embd]).
Napi::Value AddonContext::JS_Capture(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (disposed_) ThrowError(env, ErrorCode::Disposed, "the context has been disposed");
  if (!layerHook_)
    ThrowError(env, ErrorCode::InvalidArgument, "activation capture needs a context created with evalHook");
  if (!info[0].IsArray() || !info[1].IsObject()) ThrowTypeError(env, "expected (prompts, {layers})");
  Napi::Array arr = info[0].As<Napi::Array>();
  std::vector<std::vector<llama_token>> prompts;
  const int32_t n_vocab = llama_vocab_n_tokens(model_->vocab);
  for (uint32_t i = 0; i < arr.Length(); i++) {
    prompts.push_back(ReadTokens(arr.Get(i)));
    for (llama_token t : prompts.back()) {
      if (t < 0 || t >= n_vocab) ThrowRangeError(env, "token id " + std::to_string(t) + " is outside the vocabulary");
    }
  }
  Napi::Object o = info[1].As<Napi::Object>();
  std::vector<int32_t> layers =
      ReadLayerIndices(env, o.Get("layers"), llama_model_n_layer(model_->model), "layers", RepeatedLayers::Drop);
  if (layers.empty()) ThrowRangeError(env, "no layers given");
  const bool allRows = OptBool(o, "allRows", false);
  if (allRows && prompts.size() != 1) ThrowRangeError(env, "allRows captures one prompt at a time");
  const uint32_t lastRows = OptUint(o, "lastRows", 1);
  if (lastRows < 1) ThrowRangeError(env, "lastRows must be at least 1");
  if (allRows && lastRows != 1) ThrowRangeError(env, "allRows and lastRows cannot be combined");
  const uint32_t ubatch = std::min(llama_n_batch(ctx_), llama_n_ubatch(ctx_));
  if (lastRows > ubatch)
    ThrowRangeError(
        env, "lastRows " + std::to_string(lastRows) + " is more than a ubatch (" + std::to_string(ubatch) + ")");
  for (size_t i = 0; i < prompts.size(); i++) {
    if (!prompts[i].empty() && prompts[i].size() < lastRows)
      ThrowRangeError(
          env, "prompt " + std::to_string(i) + " has fewer than lastRows (" + std::to_string(lastRows) + ") tokens");
  }
  BeginOperation(env);
  auto* worker = new CaptureWorker(
      env, this, info.This().As<Napi::Object>(), std::move(prompts), std::move(layers), allRows, lastRows);
  worker->Queue();
  return worker->Promise();
}

// setLayerShift(layer, Float32Array | null): adds the vector to every row of block `layer`'s
// output in every later decode (the eval-callback path; llama.cpp's control vector is the other).
Napi::Value AddonContext::JS_SetLayerShift(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckIdle(env);
  if (!layerHook_) ThrowError(env, ErrorCode::InvalidArgument, "layer shifts need a context created with evalHook");
  const int32_t nLayer = llama_model_n_layer(model_->model);
  if (!info[0].IsNumber()) ThrowTypeError(env, "the layer must be a number");
  const int32_t layer = info[0].As<Napi::Number>().Int32Value();
  if (layer < 0 || layer >= nLayer)
    ThrowRangeError(env, "layer " + std::to_string(layer) + " is outside 0.." + std::to_string(nLayer - 1));
  if (info[1].IsNull() || info[1].IsUndefined()) {
    layerHook_->SetShift(layer, {});
    return env.Undefined();
  }
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    ThrowTypeError(env, "the shift must be a Float32Array");
  }
  Napi::Float32Array data = info[1].As<Napi::Float32Array>();
  const size_t n_embd = static_cast<size_t>(llama_model_n_embd(model_->model));
  if (data.ElementLength() != n_embd)
    ThrowRangeError(env, "the shift must have n_embd = " + std::to_string(n_embd) + " values");
  std::vector<float> shift(data.Data(), data.Data() + n_embd);
  for (float x : shift) {
    if (!std::isfinite(x)) ThrowRangeError(env, "the shift has a non-finite value");
  }
  layerHook_->SetShift(layer, std::move(shift));
  return env.Undefined();
}

Napi::Value AddonContext::JS_Dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (busy_.load()) ThrowError(env, ErrorCode::ContextBusy, "abort the running operation before disposing");
  if (creating_) ThrowError(env, ErrorCode::Internal, "the context is still being created");
  if (!disposed_) {
    disposed_ = true;
    model_->liveContexts--;
  }
  llama_context* c = ctx_;
  ctx_ = nullptr;
  TruncateHistory(0);
  auto* worker = new DisposeWorker(env, info.This().As<Napi::Object>(), [c] {
    if (c) llama_free(c);
  });
  worker->Queue();
  return worker->Promise();
}

Napi::Value AddonContext::JS_GetBusy(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), busy_.load());
}

// ---- worker-thread helpers ----

void AddonContext::TruncateHistory(size_t n) {
  if (n < history_.size()) history_.resize(n);
  if (shiftedFrom_ >= history_.size()) shiftedFrom_ = kNoShift;
}

size_t AddonContext::ReusePrefix(const std::vector<llama_token>& tokens, size_t turnStart, size_t evaluate) {
  size_t keep = 0;
  const size_t limit = std::min(history_.size(), tokens.size());
  while (keep < limit && history_[keep] == tokens[keep]) keep++;
  // An earlier steered turn's cells would make this call's prefill differ from an unsteered one
  // (and a closed gate from no guidance at all): inside this turn, stop where the shift began.
  if (shiftedFrom_ < keep) keep = std::max(std::min(keep, turnStart), shiftedFrom_);
  // The last prompt token must be decoded again to get its logits (and a pooled gate's rows).
  evaluate = std::min(std::max<size_t>(evaluate, 1), tokens.size());
  if (keep + evaluate > tokens.size()) keep = tokens.size() - evaluate;
  if (keep == history_.size()) return keep;

  if (!DropFrom(keep)) keep = 0;
  return keep;
}

bool AddonContext::DropFrom(size_t pos) {
  llama_memory_t mem = llama_get_memory(ctx_);
  bool ok = llama_memory_seq_rm(mem, 0, static_cast<llama_pos>(pos), -1);
  // A sliding-window cache prunes old cells as it goes: the tokens from `pos` on need to attend to
  // the last n_swa positions before it, which may already be gone.
  const int32_t n_swa = llama_model_n_swa(model_->model);
  if (ok && pos > 0 && n_swa > 0 && !params_.swa_full) {
    const llama_pos needed = std::max<llama_pos>(0, static_cast<llama_pos>(pos) - n_swa);
    if (llama_memory_seq_pos_min(mem, 0) > needed) ok = false;
  }
  if (!ok) {
    llama_memory_seq_rm(mem, 0, -1, -1);
    pos = 0;
  }
  TruncateHistory(pos);
  return ok;
}

int32_t AddonContext::DecodeTail(const std::vector<llama_token>& tokens, size_t from) {
  const size_t n_batch = llama_n_batch(ctx_);
  llama_batch batch = llama_batch_init(static_cast<int32_t>(n_batch), 0, 1);
  int32_t status = 0;
  for (size_t start = from; start < tokens.size() && status == 0; start += n_batch) {
    const size_t end = std::min(tokens.size(), start + n_batch);
    batch.n_tokens = 0;
    for (size_t i = start; i < end; i++) {
      const int32_t k = batch.n_tokens++;
      batch.token[k] = tokens[i];
      batch.pos[k] = static_cast<llama_pos>(i);
      batch.n_seq_id[k] = 1;
      batch.seq_id[k][0] = 0;
      batch.logits[k] = (i + 1 == tokens.size());
    }
    status = Decode(batch);
    if (status == 0) history_.insert(history_.end(), tokens.begin() + start, tokens.begin() + end);
  }
  llama_batch_free(batch);
  if (status != 0) ResyncHistory(tokens);
  return status;
}

int32_t AddonContext::Decode(const llama_batch& batch) {
  decodeFailure_.clear();
  try {
    return llama_decode(ctx_, batch);
  } catch (const std::exception& e) {
    decodeFailure_ = e.what();
    return -2;
  }
}

int32_t AddonContext::DecodeOne(llama_token token) {
  llama_token t = token;
  llama_batch batch = llama_batch_get_one(&t, 1);
  // llama_batch_get_one lets llama.cpp choose the position: the next one of sequence 0.
  const int32_t status = Decode(batch);
  if (status == 0) {
    history_.push_back(token);
  } else {
    std::vector<llama_token> intended = history_;
    intended.push_back(token);
    ResyncHistory(intended);
  }
  return status;
}

void AddonContext::ResyncHistory(const std::vector<llama_token>& intended) {
  // A failed decode may still have stored its first ubatches ("processed ubatches will remain").
  const llama_pos last = llama_memory_seq_pos_max(llama_get_memory(ctx_), 0);
  const size_t held = std::min(intended.size(), last < 0 ? size_t(0) : static_cast<size_t>(last) + 1);
  history_.assign(intended.begin(), intended.begin() + held);
  TruncateHistory(held);
}

}  // namespace inferaligner
