// Module registration, backend loading and process-wide settings.
#include <napi.h>

#include <mutex>
#include <set>
#include <string>

#ifndef _WIN32
#include <dlfcn.h>
#endif

#include "AddonState.h"
#include "Context.h"
#include "Log.h"
#include "Model.h"
#include "errors.h"
#include "ggml-backend.h"
#include "llama.h"
#include "workers/ProbeWorker.h"

namespace inferaligner {
namespace {

bool g_backendInitialised = false;

Napi::Array DeviceList(Napi::Env env) {
  Napi::Array devices = Napi::Array::New(env);
  for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
    ggml_backend_dev_t dev = ggml_backend_dev_get(i);
    Napi::Object d = Napi::Object::New(env);
    d.Set("name", ggml_backend_dev_name(dev));
    d.Set("description", ggml_backend_dev_description(dev));
    d.Set("backend", ggml_backend_reg_name(ggml_backend_dev_backend_reg(dev)));
    const auto type = ggml_backend_dev_type(dev);
    d.Set("type", type == GGML_BACKEND_DEVICE_TYPE_CPU                                            ? "cpu"
                  : type == GGML_BACKEND_DEVICE_TYPE_GPU || type == GGML_BACKEND_DEVICE_TYPE_IGPU ? "gpu"
                                                                                                  : "other");
    devices.Set(devices.Length(), d);
  }
  return devices;
}

// loadBackends(dir | null): loads the ggml backend libraries found in `dir` (prebuilt builds ship
// them beside the addon; static builds have the CPU backend built in), then initialises llama.
Napi::Value JS_LoadBackends(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!g_backendInitialised) {
    if (info[0].IsString()) {
      const std::string dir = info[0].As<Napi::String>().Utf8Value();
      ggml_backend_load_all_from_path(dir.c_str());
    }
    llama_backend_init();
    g_backendInitialised = true;
  }
  return DeviceList(env);
}

// loadBackendFile(path): loads one ggml backend library (a GPU backend from a package installed
// beside us) into the process-wide registry, once per path. Returns {error: string | null, devices}.
// The library is opened once by us first, for the dynamic loader's own reason when it cannot load
// (a missing CUDA runtime, no libvulkan), which ggml only writes to its log.
Napi::Value JS_LoadBackendFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) ThrowTypeError(env, "the backend library path must be a string");
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  static std::mutex mutex;
  static std::set<std::string> loadedPaths;
  std::string error;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (loadedPaths.count(path) == 0) {
#ifndef _WIN32
      void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!handle) {
        const char* reason = dlerror();
        error = reason ? reason : "the dynamic loader could not open it";
      } else {
        dlclose(handle);
      }
#endif
      if (error.empty()) {
        if (ggml_backend_load(path.c_str()) == nullptr) {
          error = "ggml could not initialise the backend in it";
        } else {
          loadedPaths.insert(path);
        }
      }
    }
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("error", error.empty() ? env.Null() : Napi::String::New(env, error));
  result.Set("devices", DeviceList(env));
  return result;
}

Napi::Value JS_SetLogLevel(const Napi::CallbackInfo& info) {
  if (!info[0].IsNumber()) ThrowTypeError(info.Env(), "the log level must be a number");
  SetLogLevel(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

Napi::Value JS_SetLogHandler(const Napi::CallbackInfo& info) {
  SetLogHandler(info.Env(), info[0]);
  return info.Env().Undefined();
}

Napi::Value JS_SetErrorClass(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) ThrowTypeError(info.Env(), "the error class must be a constructor");
  SetErrorClass(info.Env(), info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::Value JS_SystemInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("llamaSystemInfo", llama_print_system_info());
  o.Set("supportsGpuOffload", llama_supports_gpu_offload());
  o.Set("supportsMmap", llama_supports_mmap());
#ifdef INFERALIGNER_PREBUILT
  o.Set("buildMode", "prebuilt");
#else
  o.Set("buildMode", "source");
#endif
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new AddonState());
  InstallLogCallback();
  exports.Set("loadBackends", Napi::Function::New(env, JS_LoadBackends));
  exports.Set("loadBackendFile", Napi::Function::New(env, JS_LoadBackendFile));
  exports.Set("setLogLevel", Napi::Function::New(env, JS_SetLogLevel));
  exports.Set("setLogHandler", Napi::Function::New(env, JS_SetLogHandler));
  exports.Set("setErrorClass", Napi::Function::New(env, JS_SetErrorClass));
  exports.Set("systemInfo", Napi::Function::New(env, JS_SystemInfo));
  exports.Set("fitGateProbe", Napi::Function::New(env, JS_FitGateProbe));
  exports.Set("AddonModel", AddonModel::Init(env));
  exports.Set("AddonContext", AddonContext::Init(env));
  return exports;
}

}  // namespace
}  // namespace inferaligner

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return inferaligner::Init(env, exports); }

NODE_API_MODULE(inferaligner, InitAddon)
