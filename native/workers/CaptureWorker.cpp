#include "workers/CaptureWorker.h"

#include <algorithm>
#include <chrono>

#include "Context.h"
#include "LayerHook.h"
#include "Model.h"

namespace inferaligner {

CaptureWorker::CaptureWorker(Napi::Env env, AddonContext* context, Napi::Object owner,
    std::vector<std::vector<llama_token>> prompts, std::vector<int32_t> layers, bool allRows, uint32_t lastRows)
    : PromiseWorker(env, "inferaligner:Capture", owner),
      context_(context),
      prompts_(std::move(prompts)),
      layers_(std::move(layers)),
      allRows_(allRows),
      lastRows_(lastRows) {}

void CaptureWorker::DecodeChecked(llama_batch& batch) {
  LayerHook& hook = *context_->layerHook();
  hook.ResetSeen();
  const int32_t status = context_->Decode(batch);
  if (status == 2) throw AddonError(ErrorCode::Aborted, "activation capture was aborted", status);
  if (status == 1) throw AddonError(ErrorCode::DecodeNoKvSlot, "no KV cache slot for the prompts", status);
  if (status != 0) {
    const std::string& reason = context_->decodeFailure();
    throw AddonError(ErrorCode::DecodeFailed,
        "llama_decode failed during activation capture" + (reason.empty() ? "" : ": " + reason), status);
  }
  if (!hook.error().empty()) throw AddonError(ErrorCode::Internal, "activation capture: " + hook.error());
  const std::vector<int32_t> missing = hook.MissingLayers();
  if (!missing.empty()) {
    char arch[128] = {0};
    llama_model_meta_val_str(context_->llamaModel(), "general.architecture", arch, sizeof arch);
    throw AddonError(ErrorCode::ModelUnsupported,
        std::string("the '") + arch +
            "' architecture does not expose its block outputs as l_out-<layer> tensors (layer " +
            std::to_string(missing.front()) + " not seen), so activations cannot be captured");
  }
  decodes_++;
}

// Evaluates prompts [first, first+count) in one final decode (earlier chunks first when a lone
// prompt is longer than a ubatch) and stores their captured rows.
void CaptureWorker::RunGroup(size_t first, size_t count) {
  AddonContext& c = *context_;
  LayerHook& hook = *c.layerHook();
  llama_memory_t mem = llama_get_memory(c.ctx());
  llama_memory_clear(mem, false);
  const size_t limit = std::min(llama_n_batch(c.ctx()), llama_n_ubatch(c.ctx()));
  const int32_t n_embd = llama_model_n_embd(c.llamaModel());

  size_t total = 0;
  for (size_t k = 0; k < count; k++) total += prompts_[first + k].size();
  llama_batch batch = llama_batch_init(static_cast<int32_t>(std::max(total, limit)), 0, static_cast<int32_t>(count));
  struct BatchGuard {
    llama_batch& b;
    ~BatchGuard() { llama_batch_free(b); }
  } guard{batch};

  // A lone long prompt: everything but its last ubatch goes in without capture. That ubatch must
  // hold the captured rows: when the regular split leaves fewer, it is the prompt's last `limit`.
  size_t start = 0;
  if (count == 1 && total > limit) {
    const auto& p = prompts_[first];
    hook.ClearCapture();
    size_t tailStart = ((p.size() - 1) / limit) * limit;
    if (p.size() - tailStart < lastRows_) tailStart = p.size() - limit;
    for (size_t s = 0; s < tailStart; s += limit) {
      batch.n_tokens = 0;
      for (size_t i = s; i < std::min(s + limit, tailStart); i++) {
        const int32_t k = batch.n_tokens++;
        batch.token[k] = p[i];
        batch.pos[k] = static_cast<llama_pos>(i);
        batch.n_seq_id[k] = 1;
        batch.seq_id[k][0] = 0;
        batch.logits[k] = false;
      }
      DecodeChecked(batch);
    }
    start = tailStart;
  }

  std::vector<int32_t> rows, outputRows;
  batch.n_tokens = 0;
  int32_t outputs = 0;
  for (size_t k = 0; k < count; k++) {
    const auto& p = prompts_[first + k];
    for (size_t i = (count == 1 ? start : 0); i < p.size(); i++) {
      const int32_t row = batch.n_tokens++;
      const bool wanted = i + lastRows_ >= p.size();
      batch.token[row] = p[i];
      batch.pos[row] = static_cast<llama_pos>(i);
      batch.n_seq_id[row] = 1;
      batch.seq_id[row][0] = static_cast<llama_seq_id>(k);
      batch.logits[row] = wanted;
      if (wanted) {
        rows.push_back(row);
        outputRows.push_back(outputs);
      }
      if (batch.logits[row]) outputs++;
    }
  }
  if (allRows_) hook.SetCaptureAllRows(layers_);
  else hook.SetCapture(layers_, rows, outputRows);
  DecodeChecked(batch);
  tokens_ += total;

  const auto& captured = hook.captured();
  if (allRows_) {
    for (size_t li = 0; li < layers_.size(); li++) {
      for (const auto& row : captured[li]) rows_.insert(rows_.end(), row.begin(), row.end());
    }
  } else {
    for (size_t k = 0; k < count; k++) {
      for (size_t li = 0; li < layers_.size(); li++) {
        if (captured[li].size() != count * lastRows_)
          throw AddonError(ErrorCode::Internal, "activation capture returned the wrong number of rows");
        for (size_t j = 0; j < lastRows_; j++) {
          const auto& row = captured[li][k * lastRows_ + j];
          rows_.insert(rows_.end(), row.begin(), row.begin() + n_embd);
        }
      }
    }
  }
  hook.ClearCapture();
}

void CaptureWorker::Run() {
  AddonContext& c = *context_;
  const auto t0 = std::chrono::steady_clock::now();
  struct Cleanup {
    AddonContext& c;
    ~Cleanup() {
      c.layerHook()->ClearCapture();
      llama_memory_clear(llama_get_memory(c.ctx()), false);
      c.TruncateHistory(0);
    }
  } cleanup{c};

  const size_t limit = std::min(llama_n_batch(c.ctx()), llama_n_ubatch(c.ctx()));
  const size_t n_seq = llama_n_seq_max(c.ctx());
  const size_t n_ctx = llama_n_ctx(c.ctx());
  for (size_t i = 0; i < prompts_.size(); i++) {
    if (prompts_[i].empty())
      throw AddonError(ErrorCode::InvalidArgument, "prompt " + std::to_string(i) + " has no tokens");
    if (prompts_[i].size() > n_ctx) {
      throw AddonError(ErrorCode::ContextOverflow, "prompt " + std::to_string(i) + " has " +
                                                       std::to_string(prompts_[i].size()) +
                                                       " tokens but the context holds " + std::to_string(n_ctx));
    }
  }
  size_t i = 0;
  while (i < prompts_.size()) {
    if (c.abortRequested()) throw AddonError(ErrorCode::Aborted, "activation capture was aborted", 2);
    size_t count = 1;
    size_t tokens = prompts_[i].size();
    if (!allRows_) {
      while (i + count < prompts_.size() && count < n_seq && tokens + prompts_[i + count].size() <= limit) {
        tokens += prompts_[i + count].size();
        count++;
      }
    }
    RunGroup(i, count);
    i += count;
  }
  ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

Napi::Value CaptureWorker::Resolve(Napi::Env env) {
  Napi::Object r = Napi::Object::New(env);
  Napi::Float32Array rows = Napi::Float32Array::New(env, rows_.size());
  std::copy(rows_.begin(), rows_.end(), rows.Data());
  r.Set("rows", rows);
  r.Set("decodes", static_cast<double>(decodes_));
  r.Set("tokens", static_cast<double>(tokens_));
  r.Set("ms", ms_);
  return r;
}

void CaptureWorker::Finish() { context_->EndOperation(); }

}  // namespace inferaligner
