#include "workers/LoadModelWorker.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "Log.h"
#include "Model.h"

namespace inferaligner {

LoadModelWorker::LoadModelWorker(Napi::Env env, AddonModel* model, Napi::Object owner)
    : PromiseWorker(env, "inferaligner:LoadModel", owner), model_(model) {}

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

void LoadModelWorker::Run() {
  const std::string& path = model_->path;
  CheckModelFile(path);
  BeginLogCapture();
  llama_model* m = llama_model_load_from_file(path.c_str(), model_->params);
  if (!m) {
    const std::string log = CapturedLog();
    const std::string detail = log.empty() ? "" : ": " + log;
    if (log.find("unknown model architecture") != std::string::npos) {
      throw AddonError(ErrorCode::ModelUnsupported, "unsupported model architecture in '" + path + "'" + detail);
    }
    const bool corrupt = log.find("gguf") != std::string::npos || log.find("tensor") != std::string::npos ||
                         log.find("file bounds") != std::string::npos || log.find("key not found") != std::string::npos ||
                         log.find("failed to read") != std::string::npos;
    throw AddonError(corrupt ? ErrorCode::ModelInvalid : ErrorCode::ModelLoad,
                     "failed to load model '" + path + "'" + detail);
  }
  if (!llama_model_has_decoder(m) || llama_model_has_encoder(m)) {
    llama_model_free(m);
    throw AddonError(ErrorCode::ModelUnsupported, "'" + path + "' is not a decoder-only model; only those are supported");
  }
  const llama_vocab* vocab = llama_model_get_vocab(m);
  const int32_t n_vocab = llama_vocab_n_tokens(vocab);
  std::vector<llama_token> eog;
  for (llama_token t = 0; t < n_vocab; t++) {
    if (llama_vocab_is_eog(vocab, t)) eog.push_back(t);
  }
  model_->model = m;
  model_->vocab = vocab;
  model_->eogTokens = std::move(eog);
}

void LoadModelWorker::Finish() { model_->loading = false; }

}  // namespace inferaligner
