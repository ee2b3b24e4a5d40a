// AddonModel: one loaded llama_model (weights + vocabulary). JS: lib/Model.ts.
#pragma once

#include <napi.h>

#include <atomic>
#include <string>
#include <vector>

#include "llama.h"

namespace inferaligner {

class AddonModel : public Napi::ObjectWrap<AddonModel> {
 public:
  static Napi::Function Init(Napi::Env env);
  static AddonModel* Unwrap(const Napi::Value& value);

  // new AddonModel(path, {gpuLayers, useMmap, useMlock, vocabOnly}); nothing loads until load().
  explicit AddonModel(const Napi::CallbackInfo& info);
  ~AddonModel() override;

  llama_model* model = nullptr;
  const llama_vocab* vocab = nullptr;
  std::string path;
  llama_model_params params{};
  std::vector<ggml_backend_dev_t> devices;  // params.devices points here (null-terminated) when chosen
  std::vector<llama_token> eogTokens;       // every end-of-generation token, found once at load
  std::atomic<int> liveContexts{0};
  std::atomic<int> activeJobs{0};  // running off-thread work that reads the model (tokenizations)
  int32_t maxTokenTextBytes = 0;   // longest vocabulary entry, found once at load
  bool disposed = false;
  bool loading = false;
  std::atomic<bool> loadAbort{false};  // set by abortLoad(); read by the loading thread

  // Throws ERR_DISPOSED / a TypeError unless the model is loaded and usable.
  void CheckUsable(Napi::Env env) const;

 private:
  Napi::Value JS_Load(const Napi::CallbackInfo& info);
  Napi::Value JS_AbortLoad(const Napi::CallbackInfo& info);
  Napi::Value JS_Metadata(const Napi::CallbackInfo& info);
  Napi::Value JS_Tokenize(const Napi::CallbackInfo& info);
  Napi::Value JS_TokenizeAsync(const Napi::CallbackInfo& info);
  Napi::Value JS_Detokenize(const Napi::CallbackInfo& info);
  Napi::Value JS_TokenText(const Napi::CallbackInfo& info);
  Napi::Value JS_IsEog(const Napi::CallbackInfo& info);
  Napi::Value JS_ApplyBuiltinTemplate(const Napi::CallbackInfo& info);
  Napi::Value JS_Dispose(const Napi::CallbackInfo& info);
  Napi::Value JS_GetDisposed(const Napi::CallbackInfo& info);
};

}  // namespace inferaligner
