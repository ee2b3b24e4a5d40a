#include "Model.h"

#include <cstdio>
#include <cstring>

#include "AddonState.h"
#include "common.h"
#include "errors.h"
#include "workers/DisposeWorker.h"
#include "workers/LoadModelWorker.h"
#include "workers/TokenizeWorker.h"

namespace inferaligner {

Napi::Function AddonModel::Init(Napi::Env env) {
  Napi::Function ctor = DefineClass(env, "AddonModel",
      {
          InstanceMethod<&AddonModel::JS_Load>("load"),
          InstanceMethod<&AddonModel::JS_AbortLoad>("abortLoad"),
          InstanceMethod<&AddonModel::JS_Metadata>("metadata"),
          InstanceMethod<&AddonModel::JS_Tokenize>("tokenize"),
          InstanceMethod<&AddonModel::JS_TokenizeAsync>("tokenizeAsync"),
          InstanceMethod<&AddonModel::JS_Detokenize>("detokenize"),
          InstanceMethod<&AddonModel::JS_TokenText>("tokenText"),
          InstanceMethod<&AddonModel::JS_IsEog>("isEog"),
          InstanceMethod<&AddonModel::JS_ApplyBuiltinTemplate>("applyBuiltinTemplate"),
          InstanceMethod<&AddonModel::JS_Dispose>("dispose"),
          InstanceAccessor<&AddonModel::JS_GetDisposed>("disposed"),
      });
  AddonState::Get(env).modelClass = Napi::Persistent(ctor);
  return ctor;
}

AddonModel* AddonModel::Unwrap(const Napi::Value& value) {
  Napi::Env env = value.Env();
  if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(AddonState::Get(env).modelClass.Value())) {
    ThrowTypeError(env, "expected an AddonModel");
  }
  return ObjectWrap<AddonModel>::Unwrap(value.As<Napi::Object>());
}

AddonModel::AddonModel(const Napi::CallbackInfo& info) : ObjectWrap<AddonModel>(info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) ThrowTypeError(env, "model path must be a string");
  path = info[0].As<Napi::String>().Utf8Value();
  params = llama_model_default_params();
  if (info[1].IsObject()) {
    Napi::Object o = info[1].As<Napi::Object>();
    params.n_gpu_layers = OptInt(o, "gpuLayers", params.n_gpu_layers);
    // useMmap / useMlock map onto llama.cpp's load_mode; absent keeps its automatic choice.
    const bool hasMmap = o.Has("useMmap") && o.Get("useMmap").IsBoolean();
    const bool mlock = OptBool(o, "useMlock", false);
    if (hasMmap || mlock) {
      const bool mmap = hasMmap ? o.Get("useMmap").As<Napi::Boolean>().Value() : true;
      params.load_mode = mmap ? (mlock ? LLAMA_LOAD_MODE_MMAP_MLOCK : LLAMA_LOAD_MODE_MMAP)
                              : (mlock ? LLAMA_LOAD_MODE_MLOCK : LLAMA_LOAD_MODE_NONE);
    }
    params.vocab_only = OptBool(o, "vocabOnly", params.vocab_only);
    params.use_extra_bufts = OptBool(o, "repack", params.use_extra_bufts);
    // devices: the names of the devices to use (none: the CPU only); absent: llama.cpp's choice.
    if (o.Has("devices") && o.Get("devices").IsArray()) {
      Napi::Array names = o.Get("devices").As<Napi::Array>();
      for (uint32_t i = 0; i < names.Length(); i++) {
        const std::string name = names.Get(i).ToString().Utf8Value();
        ggml_backend_dev_t dev = ggml_backend_dev_by_name(name.c_str());
        if (!dev) ThrowError(env, ErrorCode::InvalidArgument, "no ggml device is named " + name);
        devices.push_back(dev);
      }
      devices.push_back(nullptr);
      params.devices = devices.data();
    }
  }
}

AddonModel::~AddonModel() {
  // Backstop only: JS disposes explicitly. A model still referenced by a context is never
  // collected, because each context holds a reference to its model.
  if (model) llama_model_free(model);
}

void AddonModel::CheckUsable(Napi::Env env) const {
  if (disposed) ThrowError(env, ErrorCode::Disposed, "the model has been disposed");
  if (!model) ThrowError(env, ErrorCode::Internal, "the model is not loaded");
}

Napi::Value AddonModel::JS_Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (disposed) ThrowError(env, ErrorCode::Disposed, "the model has been disposed");
  if (model || loading) ThrowError(env, ErrorCode::Internal, "the model is already loaded or loading");
  if (!info[0].IsUndefined() && !info[0].IsFunction())
    ThrowTypeError(env, "the load progress listener must be a function");
  loading = true;
  auto* worker = new LoadModelWorker(env, this, info.This().As<Napi::Object>(),
      info[0].IsFunction() ? info[0].As<Napi::Function>() : Napi::Function());
  worker->Queue();
  return worker->Promise();
}

// abortLoad(): a running load() stops at llama.cpp's next progress call and rejects with
// ERR_ABORTED; before load() it makes load() reject at once.
Napi::Value AddonModel::JS_AbortLoad(const Napi::CallbackInfo& info) {
  loadAbort.store(true);
  return info.Env().Undefined();
}

static std::string MetaString(const llama_model* model, const char* key) {
  std::vector<char> buf(256);
  int32_t n = llama_model_meta_val_str(model, key, buf.data(), buf.size());
  if (n < 0) return {};
  if (static_cast<size_t>(n) >= buf.size()) {
    buf.resize(n + 1);
    llama_model_meta_val_str(model, key, buf.data(), buf.size());
  }
  return std::string(buf.data(), n);
}

static Napi::Value TokenOrNull(Napi::Env env, llama_token t) {
  return t == LLAMA_TOKEN_NULL ? env.Null() : Napi::Number::New(env, t);
}

Napi::Value AddonModel::JS_Metadata(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckUsable(env);
  Napi::Object o = Napi::Object::New(env);
  o.Set("architecture", MetaString(model, "general.architecture"));
  o.Set("name", MetaString(model, "general.name"));
  char desc[256];
  llama_model_desc(model, desc, sizeof desc);
  o.Set("description", desc);
  o.Set("layerCount", llama_model_n_layer(model));
  o.Set("embeddingLength", llama_model_n_embd(model));
  o.Set("contextLength", llama_model_n_ctx_train(model));
  // A vocabulary-only load has no layers, and llama.cpp aborts when asked for layer 0's head counts.
  const bool hasLayers = llama_model_n_layer(model) > 0;
  o.Set("headCount", hasLayers ? llama_model_n_head(model) : 0);
  o.Set("headCountKv", hasLayers ? llama_model_n_head_kv(model) : 0);
  o.Set("slidingWindow", llama_model_n_swa(model));
  o.Set("vocabSize", llama_vocab_n_tokens(vocab));
  o.Set("maxTokenTextBytes", maxTokenTextBytes);
  o.Set("parameterCount", static_cast<double>(llama_model_n_params(model)));
  o.Set("sizeBytes", static_cast<double>(llama_model_size(model)));
  o.Set("isRecurrent", llama_model_is_recurrent(model) || llama_model_is_hybrid(model));
  o.Set("hasEncoder", llama_model_has_encoder(model));
  const char* tmpl = llama_model_chat_template(model, nullptr);
  o.Set("chatTemplate", tmpl ? Napi::Value(Napi::String::New(env, tmpl)) : env.Null());

  Napi::Object special = Napi::Object::New(env);
  special.Set("bos", TokenOrNull(env, llama_vocab_bos(vocab)));
  special.Set("eos", TokenOrNull(env, llama_vocab_eos(vocab)));
  special.Set("eot", TokenOrNull(env, llama_vocab_eot(vocab)));
  special.Set("nl", TokenOrNull(env, llama_vocab_nl(vocab)));
  special.Set("pad", TokenOrNull(env, llama_vocab_pad(vocab)));
  special.Set("addBos", llama_vocab_get_add_bos(vocab));
  special.Set("addEos", llama_vocab_get_add_eos(vocab));
  special.Set("eog", MakeTokenArray(env, eogTokens));
  o.Set("specialTokens", special);

  Napi::Object kv = Napi::Object::New(env);
  const int32_t count = llama_model_meta_count(model);
  std::vector<char> key(512), val(1024);
  for (int32_t i = 0; i < count; i++) {
    if (llama_model_meta_key_by_index(model, i, key.data(), key.size()) < 0) continue;
    int32_t n = llama_model_meta_val_str_by_index(model, i, val.data(), val.size());
    if (n < 0) continue;
    if (static_cast<size_t>(n) >= val.size()) {
      val.resize(n + 1);
      llama_model_meta_val_str_by_index(model, i, val.data(), val.size());
    }
    kv.Set(key.data(), std::string(val.data(), n));
  }
  o.Set("metadata", kv);
  return o;
}

// llama.cpp's tokenizer throws C++ exceptions through its C API on a damaged vocabulary (e.g. a
// byte-fallback vocabulary without the byte a text needs: std::out_of_range). On the JS thread an
// exception that is not a Napi::Error would end the process; make it the model's fault, coded.
template <typename Fn>
static void VocabularyCall(Napi::Env env, Fn&& fn) {
  try {
    fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    ThrowError(env, ErrorCode::ModelInvalid,
        std::string("the model's vocabulary is broken: llama.cpp failed with '") + e.what() + "'");
  }
}

// tokenize(text, addSpecial, parseSpecial) -> Uint32Array
Napi::Value AddonModel::JS_Tokenize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckUsable(env);
  if (!info[0].IsString()) ThrowTypeError(env, "text must be a string");
  const std::string text = info[0].As<Napi::String>().Utf8Value();
  const bool addSpecial = info[1].ToBoolean().Value();
  const bool parseSpecial = info[2].ToBoolean().Value();
  std::vector<llama_token> tokens(text.size() + 4);
  int32_t n = 0;
  VocabularyCall(env, [&] {
    n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), tokens.data(),
        static_cast<int32_t>(tokens.size()), addSpecial, parseSpecial);
    if (n < 0) {
      tokens.resize(-n);
      n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), tokens.data(),
          static_cast<int32_t>(tokens.size()), addSpecial, parseSpecial);
    }
  });
  if (n < 0) ThrowError(env, ErrorCode::InvalidArgument, "the text could not be tokenized");
  tokens.resize(n);
  return MakeTokenArray(env, tokens);
}

// tokenizeAsync(text, addSpecial, parseSpecial, limit) -> Promise<Uint32Array>; limit > 0 bounds the count.
Napi::Value AddonModel::JS_TokenizeAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckUsable(env);
  if (!info[0].IsString()) ThrowTypeError(env, "text must be a string");
  const int32_t limit = info[3].IsNumber() ? info[3].As<Napi::Number>().Int32Value() : 0;
  auto* worker = new TokenizeWorker(env, this, info.This().As<Napi::Object>(), info[0].As<Napi::String>().Utf8Value(),
      info[1].ToBoolean().Value(), info[2].ToBoolean().Value(), limit);
  worker->Queue();
  activeJobs++;  // after Queue(): a failed Queue() must not leave the model undisposable
  return worker->Promise();
}

static void CheckTokens(Napi::Env env, const std::vector<llama_token>& tokens, const llama_vocab* vocab) {
  const int32_t n = llama_vocab_n_tokens(vocab);
  for (llama_token t : tokens) {
    if (t < 0 || t >= n) {
      ThrowRangeError(
          env, "token id " + std::to_string(t) + " is outside the vocabulary (size " + std::to_string(n) + ")");
    }
  }
}

// detokenize(tokens, renderSpecial) -> string
Napi::Value AddonModel::JS_Detokenize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckUsable(env);
  std::vector<llama_token> tokens = ReadTokens(info[0]);
  CheckTokens(env, tokens, vocab);
  const bool special = info[1].ToBoolean().Value();
  std::string out(tokens.size() * 8 + 16, '\0');
  int32_t n = 0;
  VocabularyCall(env, [&] {
    n = llama_detokenize(vocab, tokens.data(), static_cast<int32_t>(tokens.size()), out.data(),
        static_cast<int32_t>(out.size()), false, special);
    if (n < 0) {
      out.resize(-n);
      n = llama_detokenize(vocab, tokens.data(), static_cast<int32_t>(tokens.size()), out.data(),
          static_cast<int32_t>(out.size()), false, special);
    }
  });
  out.resize(n < 0 ? 0 : n);
  return Napi::String::New(env, out);
}

// tokenText(token) -> the vocabulary entry as stored (e.g. "<start_of_turn>", "▁the")
Napi::Value AddonModel::JS_TokenText(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckUsable(env);
  if (!info[0].IsNumber()) ThrowTypeError(env, "a token id must be a number");
  std::vector<llama_token> one = {static_cast<llama_token>(info[0].As<Napi::Number>().Int32Value())};
  CheckTokens(env, one, vocab);
  return Napi::String::New(env, llama_vocab_get_text(vocab, one[0]));
}

Napi::Value AddonModel::JS_IsEog(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckUsable(env);
  if (!info[0].IsNumber()) ThrowTypeError(env, "a token id must be a number");
  return Napi::Boolean::New(env, llama_vocab_is_eog(vocab, info[0].As<Napi::Number>().Int32Value()));
}

// applyBuiltinTemplate(templateNameOrText, [{role, content}], addAssistant) -> string.
// llama.cpp's own (non-Jinja) renderer, used as the fallback for models without a Jinja template
// and as an independent oracle in tests.
Napi::Value AddonModel::JS_ApplyBuiltinTemplate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsArray()) ThrowTypeError(env, "expected (template, messages)");
  const std::string tmpl = info[0].As<Napi::String>().Utf8Value();
  Napi::Array arr = info[1].As<Napi::Array>();
  std::vector<std::string> roles(arr.Length()), contents(arr.Length());
  std::vector<llama_chat_message> chat(arr.Length());
  size_t total = 0;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    if (!arr.Get(i).IsObject()) ThrowTypeError(env, "messages must be {role, content} objects");
    Napi::Object m = arr.Get(i).As<Napi::Object>();
    roles[i] = m.Get("role").ToString().Utf8Value();
    contents[i] = m.Get("content").ToString().Utf8Value();
    chat[i] = {roles[i].c_str(), contents[i].c_str()};
    total += roles[i].size() + contents[i].size();
  }
  const bool addAssistant = info[2].ToBoolean().Value();
  std::vector<char> buf(total * 2 + 256);
  int32_t n = llama_chat_apply_template(
      tmpl.c_str(), chat.data(), chat.size(), addAssistant, buf.data(), static_cast<int32_t>(buf.size()));
  if (n > static_cast<int32_t>(buf.size())) {
    buf.resize(n);
    n = llama_chat_apply_template(
        tmpl.c_str(), chat.data(), chat.size(), addAssistant, buf.data(), static_cast<int32_t>(buf.size()));
  }
  if (n < 0) ThrowError(env, ErrorCode::Template, "llama.cpp has no built-in chat template matching '" + tmpl + "'");
  return Napi::String::New(env, std::string(buf.data(), n));
}

Napi::Value AddonModel::JS_Dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (liveContexts.load() > 0) {
    ThrowError(env, ErrorCode::ContextBusy, "dispose the model's contexts before the model");
  }
  if (loading) ThrowError(env, ErrorCode::Internal, "the model is still loading");
  if (activeJobs.load() > 0) ThrowError(env, ErrorCode::Internal, "the model is still tokenizing");
  disposed = true;
  llama_model* m = model;
  model = nullptr;
  vocab = nullptr;
  auto* worker = new DisposeWorker(env, info.This().As<Napi::Object>(), [m] {
    if (m) llama_model_free(m);
  });
  worker->Queue();
  return worker->Promise();
}

Napi::Value AddonModel::JS_GetDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), disposed);
}

}  // namespace inferaligner
