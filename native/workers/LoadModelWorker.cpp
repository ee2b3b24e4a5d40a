#include "workers/LoadModelWorker.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <unordered_set>

#include "Log.h"
#include "Model.h"
#include "gguf.h"

namespace inferaligner {

LoadModelWorker::LoadModelWorker(Napi::Env env, AddonModel* model, Napi::Object owner, Napi::Function onProgress)
    : StreamingPromiseWorker(env, "inferaligner:LoadModel", owner), model_(model) {
  if (!onProgress.IsEmpty()) onProgress_ = Napi::Persistent(onProgress);
}

// On the loading thread, from inside llama_model_load_from_file: false cancels the load.
bool LoadModelWorker::OnLoadProgress(float fraction, void* user) {
  auto* self = static_cast<LoadModelWorker*>(user);
  if (self->model_->loadAbort.load()) return false;
  // A few hundred calls for a large model: one event per percent is plenty for a progress bar.
  if (self->progress_ && !self->onProgress_.IsEmpty() && (fraction >= self->lastSent_ + 0.01f || fraction >= 1.0f) &&
      fraction != self->lastSent_) {
    self->lastSent_ = fraction;
    self->progress_->Send(&fraction, 1);
  }
  return true;
}

void LoadModelWorker::OnEvents(Napi::Env env, const float* events, size_t count) {
  if (onProgress_.IsEmpty()) return;
  for (size_t i = 0; i < count; i++) {
    // The JS layer wraps the user's listener and catches what it throws; this is a backstop, so
    // that an exception cannot escape into node-addon-api: it cancels the load.
    try {
      onProgress_.Call({Napi::Number::New(env, events[i])});
    } catch (const Napi::Error&) {
      model_->loadAbort.store(true);
      return;
    }
  }
}

// Checks the file before llama.cpp sees it, so that the common mistakes get precise codes:
// llama.cpp reports every failure as a null model and explains only in its log.
static void CheckModelFile(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    throw AddonError(ErrorCode::ModelNotFound, "cannot open model file '" + path + "': " + std::strerror(errno));
  }
  char magic[4] = {0, 0, 0, 0};
  const size_t n = std::fread(magic, 1, 4, f);
  std::fclose(f);
  if (n != 4 || std::memcmp(magic, "GGUF", 4) != 0) {
    throw AddonError(ErrorCode::ModelInvalid, "'" + path + "' is not a GGUF file (bad magic)");
  }
}

// llama.cpp's LLAMA_MAX_LAYERS (src/llama-hparams.h, not a public header): it asserts beyond it.
constexpr uint64_t kMaxLayers = 512;

// What llama.cpp asserts on (aborting the process) instead of failing the load. Each was found by
// the fault-injection suite (test/fuzz.test.ts) or a user report; returns "" when none applies.
static std::string FindFatalMetadata(gguf_context* gguf, const std::string& arch) {
  // A non-finite float (a NaN norm epsilon aborts at the first decode) or a negative epsilon.
  for (int64_t i = 0; i < gguf_get_n_kv(gguf); i++) {
    const gguf_type type = gguf_get_kv_type(gguf, i);
    if (type != GGUF_TYPE_FLOAT32 && type != GGUF_TYPE_FLOAT64) continue;
    const double v = type == GGUF_TYPE_FLOAT32 ? gguf_get_val_f32(gguf, i) : gguf_get_val_f64(gguf, i);
    const std::string key = gguf_get_key(gguf, i);
    if (!std::isfinite(v)) return "metadata " + key + " is not a finite number";
    if (v < 0 && key.find("epsilon") != std::string::npos) return "metadata " + key + " is negative";
  }
  // A block count of 0 or above llama.cpp's maximum; a zero width.
  for (const char* field : {".block_count", ".embedding_length"}) {
    const int64_t k = gguf_find_key(gguf, (arch + field).c_str());
    if (k < 0) continue;
    const gguf_type type = gguf_get_kv_type(gguf, k);
    const int64_t v = type == GGUF_TYPE_UINT32   ? int64_t(gguf_get_val_u32(gguf, k))
                      : type == GGUF_TYPE_INT32  ? int64_t(gguf_get_val_i32(gguf, k))
                      : type == GGUF_TYPE_UINT64 ? int64_t(std::min<uint64_t>(gguf_get_val_u64(gguf, k), INT64_MAX))
                                                 : 1;
    if (v <= 0) return "metadata " + arch + field + " is " + std::to_string(v);
    if (std::string(field) == ".block_count" && uint64_t(v) > kMaxLayers) {
      return "metadata " + arch + field + " is " + std::to_string(v) + " (llama.cpp allows at most " +
             std::to_string(kMaxLayers) + ")";
    }
  }
  // Two vocabulary entries with the same text (llama.cpp asserts that the text->id map is as long as the list).
  const int64_t tokensKey = gguf_find_key(gguf, "tokenizer.ggml.tokens");
  if (tokensKey >= 0 && gguf_get_kv_type(gguf, tokensKey) == GGUF_TYPE_ARRAY &&
      gguf_get_arr_type(gguf, tokensKey) == GGUF_TYPE_STRING) {
    const size_t n = gguf_get_arr_n(gguf, tokensKey);
    std::unordered_set<std::string_view> seen;
    seen.reserve(n);
    for (size_t i = 0; i < n; i++) {
      // Empty entries are renamed by llama.cpp ([EMPTY_i]) before it builds the map: not duplicates.
      const std::string_view text = gguf_get_arr_str(gguf, tokensKey, i);
      if (!text.empty() && !seen.insert(text).second) {
        return "tokenizer.ggml.tokens has the token '" + std::string(gguf_get_arr_str(gguf, tokensKey, i)) +
               "' twice (id " + std::to_string(i) + ")";
      }
    }
  }
  // A weight stored as an integer or F64 tensor, or in one of the intermediate types the CPU
  // kernels only produce (Q8_1, Q8_K): no model has one, and the kernels abort or crash on it at
  // the first decode (the file still looks consistent when the type's size fits the data).
  for (int64_t i = 0; i < gguf_get_n_tensors(gguf); i++) {
    const ggml_type type = gguf_get_tensor_type(gguf, i);
    if (type == GGML_TYPE_I8 || type == GGML_TYPE_I16 || type == GGML_TYPE_I32 || type == GGML_TYPE_I64 ||
        type == GGML_TYPE_F64 || type == GGML_TYPE_Q8_1 || type == GGML_TYPE_Q8_K) {
      return std::string("tensor ") + gguf_get_tensor_name(gguf, i) + " has type " + ggml_type_name(type) +
             ", which no model weight has";
    }
  }
  return "";
}

// Non-causal attention (embedding models such as EmbeddingGemma): llama.cpp aborts the process when
// a prompt spans more than one ubatch, and generating with one means nothing.
static bool HasNonCausalAttention(gguf_context* gguf, const std::string& arch) {
  const int64_t k = gguf_find_key(gguf, (arch + ".attention.causal").c_str());
  return k >= 0 && gguf_get_kv_type(gguf, k) == GGUF_TYPE_BOOL && !gguf_get_val_bool(gguf, k);
}

// Reads the GGUF header and metadata (not the tensor data); returns general.architecture.
// A file whose header does not parse is corrupt or truncated.
static std::string ReadArchitecture(const std::string& path) {
  gguf_init_params params = {/*no_alloc =*/true, /*ctx =*/nullptr};
  gguf_context* gguf = gguf_init_from_file(path.c_str(), params);
  if (!gguf)
    throw AddonError(ErrorCode::ModelInvalid, "'" + path + "' is not a valid GGUF file (corrupt or truncated header)");
  std::string arch;
  const int64_t key = gguf_find_key(gguf, "general.architecture");
  if (key >= 0 && gguf_get_kv_type(gguf, key) == GGUF_TYPE_STRING) arch = gguf_get_val_str(gguf, key);
  const std::string problem = arch.empty() ? "" : FindFatalMetadata(gguf, arch);
  const bool nonCausal = !arch.empty() && HasNonCausalAttention(gguf, arch);
  gguf_free(gguf);
  if (arch.empty())
    throw AddonError(ErrorCode::ModelInvalid, "'" + path + "' has no general.architecture: not a model file");
  if (!problem.empty()) throw AddonError(ErrorCode::ModelInvalid, "'" + path + "': " + problem);
  if (nonCausal) {
    throw AddonError(
        ErrorCode::ModelUnsupported, "'" + path + "' has non-causal attention (" + arch +
                                         ".attention.causal = false): an embedding model, not a generator");
  }
  return arch;
}

// After a failed load: was it the architecture (llama.cpp stops at it before reading tensors, so
// a vocabulary-only load fails too) or the tensors (a vocabulary-only load succeeds)?
static bool VocabularyLoads(const std::string& path) {
  llama_model_params params = llama_model_default_params();
  params.vocab_only = true;
  llama_model* m = llama_model_load_from_file(path.c_str(), params);
  if (!m) return false;
  llama_model_free(m);
  return true;
}

void LoadModelWorker::Run(const Progress& progress) {
  progress_ = &progress;
  struct ProgressReset {
    LoadModelWorker* w;
    ~ProgressReset() { w->progress_ = nullptr; }
  } reset{this};
  const std::string& path = model_->path;
  CheckModelFile(path);
  const std::string arch = ReadArchitecture(path);
  // Another copy of llama.cpp in the process (e.g. node-llama-cpp sharing the prebuilt library)
  // may have taken the log callback; llama.cpp explains load failures only there.
  InstallLogCallback();
  BeginLogCapture();
  llama_model_params params = model_->params;
  params.progress_callback = &LoadModelWorker::OnLoadProgress;
  params.progress_callback_user_data = this;
  if (model_->loadAbort.load()) throw AddonError(ErrorCode::Aborted, "the model load was aborted");
  llama_model* m = llama_model_load_from_file(path.c_str(), params);
  if (!m && model_->loadAbort.load()) throw AddonError(ErrorCode::Aborted, "the model load was aborted");
  if (!m) {
    const std::string log = CapturedLog();
    const std::string detail = log.empty() ? "" : ": " + log;
    // llama.cpp explains itself in the log; without a log (another logger took it), probe.
    const bool unknownArch = log.find("unknown model architecture") != std::string::npos;
    const bool badData = log.find("file bounds") != std::string::npos || log.find("corrupt") != std::string::npos ||
                         log.find("failed to read") != std::string::npos;
    if (unknownArch || (!badData && log.empty() && !VocabularyLoads(path))) {
      throw AddonError(
          ErrorCode::ModelUnsupported, "cannot load architecture '" + arch + "' of '" + path +
                                           "' (unsupported by this llama.cpp, or its metadata is incomplete)" + detail);
    }
    const bool outOfMemory =
        !badData && (log.find("alloc") != std::string::npos || log.find("memory") != std::string::npos);
    throw AddonError(outOfMemory ? ErrorCode::ModelLoad : ErrorCode::ModelInvalid,
        "failed to load '" + path + "' (" + arch + ")" + detail);
  }
  if (!llama_model_has_decoder(m) || llama_model_has_encoder(m)) {
    llama_model_free(m);
    throw AddonError(
        ErrorCode::ModelUnsupported, "'" + path + "' is not a decoder-only model; only those are supported");
  }
  const llama_vocab* vocab = llama_model_get_vocab(m);
  const int32_t n_vocab = llama_vocab_n_tokens(vocab);
  std::vector<llama_token> eog;
  int32_t longest = 0;
  for (llama_token t = 0; t < n_vocab; t++) {
    if (llama_vocab_is_eog(vocab, t)) eog.push_back(t);
    const char* text = llama_vocab_get_text(vocab, t);
    if (text) longest = std::max(longest, static_cast<int32_t>(std::strlen(text)));
  }
  model_->maxTokenTextBytes = longest;
  model_->model = m;
  model_->vocab = vocab;
  model_->eogTokens = std::move(eog);
}

void LoadModelWorker::Finish() { model_->loading = false; }

}  // namespace inferaligner
