#include "workers/GenerateWorker.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "Context.h"
#include "LayerHook.h"
#include "Model.h"
#include "common.h"

namespace inferaligner {

namespace {
double MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

AddonError DecodeError(int32_t status, const char* phase, const std::string& reason) {
  if (status == 1) {
    return AddonError(ErrorCode::DecodeNoKvSlot,
        std::string("no KV cache slot for the ") + phase + " (the context is full or fragmented)", status);
  }
  return AddonError(ErrorCode::DecodeFailed,
      std::string("llama_decode failed during the ") + phase + (reason.empty() ? "" : ": " + reason), status);
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
    std::vector<llama_token> prompt, const Napi::Object& options, Napi::Function onToken, GuidanceOptions guidance)
    : StreamingPromiseWorker<TokenEvent>(env, "inferaligner:Generate", owner),
      context_(context),
      prompt_(std::move(prompt)),
      sampling_(SamplingOptions::FromJs(options)),
      guidance_(std::move(guidance)) {
  maxTokens_ = OptInt(options, "maxTokens", -1);
  turnStart_ = static_cast<size_t>(std::max(0, OptInt(options, "turnStart", 0)));
  captureLogits_ = OptBool(options, "captureLogits", false);
  if (options.Has("stop") && options.Get("stop").IsArray()) {
    Napi::Array stops = options.Get("stop").As<Napi::Array>();
    for (uint32_t i = 0; i < stops.Length(); i++) stops_.push_back(stops.Get(i).ToString().Utf8Value());
  }
  if (!onToken.IsEmpty()) onToken_ = Napi::Persistent(onToken);
}

void GenerateWorker::DecodePrompt() {
  const uint32_t n_ctx = llama_n_ctx(context_->ctx());
  if (prompt_.size() > n_ctx) {
    throw AddonError(ErrorCode::ContextOverflow,
        "the prompt has " + std::to_string(prompt_.size()) + " tokens but the context holds " + std::to_string(n_ctx));
  }
  const auto t0 = std::chrono::steady_clock::now();
  reused_ = context_->ReusePrefix(prompt_, turnStart_, guidance_.active() ? guidance_.gatePoolTokens : 1);
  // Counted from what reached the KV cache, so that an aborted prefill reports what it evaluated.
  const auto evaluatedSince = [this](size_t from) {
    return context_->history().size() > from ? context_->history().size() - from : 0;
  };
  promptEvaluated_ = 0;
  LayerHook* hook = context_->layerHook();
  // The gate reads the last prompt token's row at the gate layers during the ordinary prompt
  // evaluation: the same batches as without guidance, so a closed gate changes nothing.
  if (guidance_.active()) hook->SetCaptureLastRow(guidance_.captureLayers, guidance_.gatePoolTokens);
  const bool onePass = OnePassApplies();
  if (onePass) ArmOnePass();
  int32_t status = context_->DecodeTail(prompt_, reused_);
  promptEvaluated_ += evaluatedSince(reused_);
  std::vector<std::vector<float>> gateRows;
  const bool decidedInPass = onePass && hook->gateDecided();
  const bool openedInPass = decidedInPass && hook->gateOpen();
  if (onePass) hook->DisarmGatedShift();
  if (guidance_.active()) {
    gateRows = hook->PooledRows();
    hook->ClearCapture();
  }
  if (status == 0 && guidance_.active()) {
    DecidePromptGate(gateRows);
    if (decidedInPass) {
      // The turn was steered in the pass itself from the gate layer on; generation goes on with
      // the shift in place (the control vector), from the turn's first token.
      if (openedInPass != gate_.open)
        throw AddonError(ErrorCode::Internal, "the one-pass gate disagrees with the gate");
      if (gate_.open) ApplyShift(turnStart_);
    } else if (gate_.open && guidance_.mode == GuidanceOptions::Mode::Steer) {
      // Open: the whole turn must be steered from its first token, so take the turn out of the
      // KV cache and evaluate it again with the shift in place. Part of the turn may have come
      // from the cache (an earlier call with the same text): it goes too.
      reused_ = std::min(reused_, std::min(turnStart_, prompt_.size() - 1));
      status = RollBackTurn();
      if (status == 0) {
        ApplyShift(reused_);
        status = context_->DecodeTail(prompt_, reused_);
        promptEvaluated_ += evaluatedSince(reused_);
      }
    }
  }
  promptMs_ = MsSince(t0);
  if (status == 2) {
    stopReason_ = "abort";
    return;
  }
  if (status != 0) throw DecodeError(status, "prompt", context_->decodeFailure());
}

// One prefill for an open gate (issue 15): possible when every gate block comes before the first
// steered block, the turn's tokens are one ubatch (the gate must be known before any steered block
// of any of the turn's rows is computed), and the decode starts exactly at the turn: none of the
// turn came from the cache (those cells were computed unshifted), and no earlier turn is evaluated
// with it (the rollback path would evaluate such a batch differently). Otherwise the open gate
// takes the turn out and evaluates it again.
bool GenerateWorker::OnePassApplies() const {
  if (guidance_.mode != GuidanceOptions::Mode::Steer || !guidance_.onePass || guidance_.steerLayers.empty() ||
      guidance_.captureLayers.empty())
    return false;
  const int32_t firstSteered = *std::min_element(guidance_.steerLayers.begin(), guidance_.steerLayers.end());
  const int32_t lastGate = *std::max_element(guidance_.captureLayers.begin(), guidance_.captureLayers.end());
  if (lastGate >= firstSteered) return false;
  if (reused_ != turnStart_ || turnStart_ >= prompt_.size()) return false;
  const size_t rows = prompt_.size() - reused_;
  return rows <= llama_n_ubatch(context_->ctx()) && rows <= llama_n_batch(context_->ctx());
}

void GenerateWorker::ArmOnePass() {
  LayerHook::GatedShift gated;
  gated.decideAfter = *std::max_element(guidance_.captureLayers.begin(), guidance_.captureLayers.end());
  gated.firstRow = static_cast<int64_t>(turnStart_ - reused_);
  gated.ubatchRows = static_cast<int64_t>(prompt_.size() - reused_);
  for (size_t i = 0; i < guidance_.steerLayers.size(); i++)
    gated.shifts[guidance_.steerLayers[i]] = guidance_.steerShifts[i];
  // Runs inside llama_decode on this worker's thread; a malformed row leaves the gate closed here
  // and DecidePromptGate reports it after the decode.
  const int32_t n_embd = llama_model_n_embd(context_->llamaModel());
  gated.decide = [this, n_embd](const std::vector<std::vector<float>>& rows) {
    for (const auto& row : rows)
      if (row.size() != static_cast<size_t>(n_embd)) return false;
    return DecideGate(guidance_, rows).open;
  };
  context_->layerHook()->ArmGatedShift(std::move(gated));
}

void GenerateWorker::DecidePromptGate(const std::vector<std::vector<float>>& gateRows) {
  const int32_t n_embd = llama_model_n_embd(context_->llamaModel());
  for (size_t i = 0; i < gateRows.size(); i++) {
    if (gateRows[i].size() != static_cast<size_t>(n_embd)) {
      char arch[128] = {0};
      llama_model_meta_val_str(context_->llamaModel(), "general.architecture", arch, sizeof arch);
      throw AddonError(ErrorCode::ModelUnsupported,
          std::string("the '") + arch + "' architecture does not expose l_out-" +
              std::to_string(guidance_.captureLayers[i]) + ", so the guidance gate cannot be computed");
    }
  }
  gate_ = DecideGate(guidance_, gateRows);
}

// Returns the llama_decode status of evaluating the earlier turns again: 0 when that was not
// needed or went in, 2 when aborted (the caller stops as for an aborted prompt, not with an error).
int32_t GenerateWorker::RollBackTurn() {
  // A sliding-window cache may have pruned cells that the turn's first tokens attend to; then
  // the earlier turns are evaluated again (unshifted) before the turn.
  if (context_->DropFrom(reused_) || reused_ == 0) return 0;
  std::vector<llama_token> earlier(prompt_.begin(), prompt_.begin() + reused_);
  const int32_t status = context_->DecodeTail(earlier, 0);
  promptEvaluated_ += context_->history().size();
  if (status != 0 && status != 2)
    throw DecodeError(status, "re-evaluation of the earlier turns", context_->decodeFailure());
  return status;
}

// alpha * theta_l on every steered layer: llama.cpp's control vector for blocks >= 1 (added
// in-graph, no callback per token), our eval hook for block 0, which the control vector cannot
// reach. Each layer gets its shift from exactly one of the two.
void GenerateWorker::ApplyShift(size_t shiftedFrom) {
  AddonContext& c = *context_;
  const int32_t n_embd = llama_model_n_embd(c.llamaModel());
  const int32_t n_layer = llama_model_n_layer(c.llamaModel());
  std::vector<float> cvec(static_cast<size_t>(std::max(0, n_layer - 1)) * n_embd, 0.0f);
  int32_t lo = n_layer, hi = 0;
  for (size_t i = 0; i < guidance_.steerLayers.size(); i++) {
    const int32_t l = guidance_.steerLayers[i];
    if (l == 0 || guidance_.shiftByHook) {
      c.layerHook()->SetShift(l, guidance_.steerShifts[i]);
      continue;
    }
    std::copy(guidance_.steerShifts[i].begin(), guidance_.steerShifts[i].end(),
        cvec.begin() + static_cast<size_t>(l - 1) * n_embd);
    lo = std::min(lo, l);
    hi = std::max(hi, l);
  }
  shifted_ = true;
  // Everything decoded from here on (the turn again, or just its generated tokens after a one-pass
  // prefill) carries the shift; so do the turn's cells from `shiftedFrom`.
  c.MarkShiftedFrom(shiftedFrom);
  if (hi >= 1 && llama_set_adapter_cvec(c.ctx(), cvec.data(), cvec.size(), n_embd, lo, hi) != 0) {
    throw AddonError(ErrorCode::Internal, "llama.cpp refused the steering vector");
  }
}

void GenerateWorker::ClearShift() {
  if (!shifted_) return;
  AddonContext& c = *context_;
  if (guidance_.shiftByHook) {
    for (const int32_t layer : guidance_.steerLayers) c.layerHook()->SetShift(layer, {});
  } else {
    llama_set_adapter_cvec(c.ctx(), nullptr, 0, llama_model_n_embd(c.llamaModel()), 0, 0);
    c.layerHook()->SetShift(0, {});
  }
  shifted_ = false;
}

void GenerateWorker::Emit(const Progress& progress, llama_token token, std::string text) {
  if (onToken_.IsEmpty()) return;
  TokenEvent event{token, std::move(text)};
  progress.Send(&event, 1);
}

void GenerateWorker::Run(const Progress& progress) {
  AddonContext& c = *context_;
  const llama_vocab* vocab = c.vocab();
  const int32_t n_vocab = llama_vocab_n_tokens(vocab);
  const uint32_t n_ctx = llama_n_ctx(c.ctx());
  // The shift belongs to this turn only, however the turn ends.
  struct ShiftGuard {
    GenerateWorker* w;
    ~ShiftGuard() { w->ClearShift(); }
  } shiftGuard{this};

  DecodePrompt();
  if (!stopReason_.empty()) return;
  if (gate_.open && guidance_.mode == GuidanceOptions::Mode::Refuse) {
    stopReason_ = "refused";
    return;
  }
  if (maxTokens_ == 0) {
    stopReason_ = "maxTokens";
    return;
  }

  Sampler sampler(sampling_);
  TextAssembler assembler(stops_);
  const auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    if (c.abortRequested()) {
      stopReason_ = "abort";
      break;
    }
    const float* row = llama_get_logits_ith(c.ctx(), -1);
    // NaN weights or a huge steering shift make every logit NaN; greedy sampling would then emit
    // token 0 forever and the caller would see an empty answer that looks like a normal one.
    // A shift so large that the norm's sum of squares overflows gives all-zero activations
    // instead: every logit equal, which no working model produces.
    float lowest = row[0], highest = row[0];
    for (int32_t v = 0; v < n_vocab; v++) {
      if (!std::isfinite(row[v])) {
        throw AddonError(ErrorCode::Numeric,
            "the model computed a non-finite logit (NaN or infinity) for token " + std::to_string(generated_.size()) +
                " of the answer: its weights or the steering strength are out of range");
      }
      lowest = std::min(lowest, row[v]);
      highest = std::max(highest, row[v]);
    }
    if (n_vocab > 1 && lowest == highest) {
      throw AddonError(ErrorCode::Numeric,
          "every logit is the same value for token " + std::to_string(generated_.size()) +
              " of the answer (a numerical collapse): its weights or the steering strength are out of range");
    }
    if (captureLogits_) logits_.emplace_back(row, row + n_vocab);
    const llama_token token = sampler.Sample(c.ctx(), -1);
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
    if (c.history().size() >= n_ctx) {
      stopReason_ = "contextFull";
      break;
    }
    const int32_t status = c.DecodeOne(token);
    if (status == 2) {
      stopReason_ = "abort";
      break;
    }
    if (status != 0) throw DecodeError(status, "generation", context_->decodeFailure());
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
      context_->RequestAbort();
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
  if (gate_.decided) {
    Napi::Object gate = Napi::Object::New(env);
    gate.Set("open", gate_.open);
    gate.Set("mode", ModeName(guidance_.mode));
    Napi::Array scores = Napi::Array::New(env, gate_.scores.size());
    for (size_t i = 0; i < gate_.scores.size(); i++) scores.Set(i, gate_.scores[i]);
    gate.Set("scores", scores);
    r.Set("gate", gate);
  }
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

void GenerateWorker::Finish() { context_->EndOperation(); }

}  // namespace inferaligner
