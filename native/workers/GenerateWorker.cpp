#include "workers/GenerateWorker.h"

#include <chrono>

#include "Context.h"
#include "Model.h"
#include "common.h"

namespace inferaligner {

namespace {
double MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

AddonError DecodeError(int32_t status, const char* phase) {
  if (status == 1) {
    return AddonError(ErrorCode::DecodeNoKvSlot, std::string("no KV cache slot for the ") + phase +
                      " (the context is full or fragmented)", status);
  }
  return AddonError(ErrorCode::DecodeFailed, std::string("llama_decode failed during the ") + phase, status);
}

std::string TokenPiece(const llama_vocab* vocab, llama_token token) {
  char buf[256];
  int32_t n = llama_token_to_piece(vocab, token, buf, sizeof buf, 0, false);
  if (n >= 0) return std::string(buf, n);
  std::string big(-n, '\0');
  n = llama_token_to_piece(vocab, token, big.data(), static_cast<int32_t>(big.size()), 0, false);
  big.resize(n < 0 ? 0 : n);
  return big;
}
}  // namespace

GenerateWorker::GenerateWorker(Napi::Env env, AddonContext* context, Napi::Object owner,
                               std::vector<llama_token> prompt, const Napi::Object& options, Napi::Function onToken)
    : StreamingPromiseWorker<TokenEvent>(env, "inferaligner:Generate", owner),
      context_(context),
      prompt_(std::move(prompt)),
      sampling_(SamplingOptions::FromJs(options)) {
  maxTokens_ = OptInt(options, "maxTokens", -1);
  captureLogits_ = OptBool(options, "captureLogits", false);
  if (options.Has("stop") && options.Get("stop").IsArray()) {
    Napi::Array stops = options.Get("stop").As<Napi::Array>();
    for (uint32_t i = 0; i < stops.Length(); i++) stops_.push_back(stops.Get(i).ToString().Utf8Value());
  }
  if (!onToken.IsEmpty()) onToken_ = Napi::Persistent(onToken);
}

void GenerateWorker::DecodePrompt() {
  const uint32_t n_ctx = llama_n_ctx(context_->ctx);
  if (prompt_.size() > n_ctx) {
    throw AddonError(ErrorCode::ContextOverflow, "the prompt has " + std::to_string(prompt_.size()) +
                     " tokens but the context holds " + std::to_string(n_ctx));
  }
  const auto t0 = std::chrono::steady_clock::now();
  reused_ = context_->ReusePrefix(prompt_);
  promptEvaluated_ = prompt_.size() - reused_;
  const int32_t status = context_->DecodeTail(prompt_, reused_);
  promptMs_ = MsSince(t0);
  if (status == 2) {
    stopReason_ = "abort";
    return;
  }
  if (status != 0) throw DecodeError(status, "prompt");
}

void GenerateWorker::Emit(const Progress& progress, llama_token token, std::string text) {
  if (onToken_.IsEmpty()) return;
  TokenEvent event{token, std::move(text)};
  progress.Send(&event, 1);
}

void GenerateWorker::Run(const Progress& progress) {
  AddonContext& c = *context_;
  const llama_vocab* vocab = c.model->vocab;
  const int32_t n_vocab = llama_vocab_n_tokens(vocab);
  const uint32_t n_ctx = llama_n_ctx(c.ctx);

  DecodePrompt();
  if (!stopReason_.empty()) return;
  if (maxTokens_ == 0) {
    stopReason_ = "maxTokens";
    return;
  }

  Sampler sampler(sampling_);
  TextAssembler assembler(stops_);
  const auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    if (c.abortRequested.load()) {
      stopReason_ = "abort";
      break;
    }
    if (captureLogits_) {
      const float* row = llama_get_logits_ith(c.ctx, -1);
      logits_.emplace_back(row, row + n_vocab);
    }
    const llama_token token = sampler.Sample(c.ctx, -1);
    if (llama_vocab_is_eog(vocab, token)) {
      stopReason_ = "eog";
      break;
    }
    generated_.push_back(token);
    Emit(progress, token, assembler.Push(TokenPiece(vocab, token)));
    if (assembler.stopped()) {
      stopReason_ = "stop";
      matchedStop_ = assembler.matchedStop();
      break;
    }
    if (maxTokens_ > 0 && generated_.size() >= static_cast<size_t>(maxTokens_)) {
      stopReason_ = "maxTokens";
      break;
    }
    if (c.history.size() >= n_ctx) {
      stopReason_ = "contextFull";
      break;
    }
    const int32_t status = c.DecodeOne(token);
    if (status == 2) {
      stopReason_ = "abort";
      break;
    }
    if (status != 0) throw DecodeError(status, "generation");
  }
  generationMs_ = MsSince(t0);
  std::string rest = assembler.Flush();
  if (!rest.empty()) Emit(progress, -1, std::move(rest));
  text_ = assembler.FinalText();
}

void GenerateWorker::OnEvents(Napi::Env env, const TokenEvent* events, size_t count) {
  if (onToken_.IsEmpty()) return;
  for (size_t i = 0; i < count; i++) {
    if (!listenerError_.IsEmpty()) return;
    // A listener that throws must not take the process down: stop generating and reject with
    // the listener's own error.
    try {
      onToken_.Call({events[i].token < 0 ? env.Null() : Napi::Number::New(env, events[i].token),
                     Napi::String::New(env, events[i].text)});
    } catch (const Napi::Error& e) {
      listenerError_ = Napi::Persistent(e.Value().As<Napi::Object>());
      context_->abortRequested.store(true);
    }
  }
}

Napi::Value GenerateWorker::Resolve(Napi::Env env) {
  if (!listenerError_.IsEmpty()) throw Napi::Error(env, listenerError_.Value());
  Napi::Object r = Napi::Object::New(env);
  r.Set("tokens", MakeTokenArray(env, generated_));
  r.Set("text", Napi::String::New(env, text_));
  r.Set("stopReason", stopReason_);
  if (!matchedStop_.empty()) r.Set("stopString", matchedStop_);
  r.Set("reusedTokenCount", static_cast<double>(reused_));
  r.Set("promptTokenCount", static_cast<double>(prompt_.size()));
  r.Set("evaluatedTokenCount", static_cast<double>(promptEvaluated_));
  r.Set("promptMs", promptMs_);
  r.Set("generationMs", generationMs_);
  if (captureLogits_) {
    Napi::Array rows = Napi::Array::New(env, logits_.size());
    for (size_t i = 0; i < logits_.size(); i++) {
      Napi::Float32Array row = Napi::Float32Array::New(env, logits_[i].size());
      std::copy(logits_[i].begin(), logits_[i].end(), row.Data());
      rows.Set(i, row);
    }
    r.Set("logits", rows);
  }
  return r;
}

void GenerateWorker::Finish() { context_->busy_.store(false); }

}  // namespace inferaligner
