#include "Log.h"

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>

#include "llama.h"

namespace inferaligner {

namespace {
std::atomic<int> g_level{0};
// Each worker thread captures what it logged itself: llama.cpp logs on the caller's thread.
thread_local std::string t_captured;
constexpr size_t kMaxCaptured = 4096;

int LevelRank(ggml_log_level level) {
  switch (level) {
    case GGML_LOG_LEVEL_ERROR: return 1;
    case GGML_LOG_LEVEL_WARN: return 2;
    case GGML_LOG_LEVEL_INFO: return 3;
    case GGML_LOG_LEVEL_DEBUG: return 4;
    default: return 3;  // NONE and CONT continue an earlier line: treat them as info
  }
}

// The JS handler (setLogHandler), called on the thread of the environment that set it. llama.cpp
// logs from any thread, so lines travel through a thread-safe function; the handler's environment
// is remembered so that its teardown drops the handler.
struct LogLine {
  int rank;
  std::string text;
};
std::mutex g_handlerMutex;
std::unique_ptr<Napi::ThreadSafeFunction> g_handler;
napi_env g_handlerEnv = nullptr;

void CallHandler(Napi::Env env, Napi::Function fn, LogLine* line) {
  std::unique_ptr<LogLine> owned(line);
  if (env == nullptr || fn.IsEmpty()) return;
  std::string text = owned->text;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  // What the handler throws has nowhere to go: a logger must not break the caller.
  try {
    fn.Call({Napi::Number::New(env, owned->rank), Napi::String::New(env, text)});
  } catch (const Napi::Error&) {
  }
}

void DropHandlerLocked() {
  if (g_handler) g_handler->Release();
  g_handler.reset();
  g_handlerEnv = nullptr;
}

void OnLog(ggml_log_level level, const char* text, void* /*user*/) {
  const int rank = LevelRank(level);
  if (rank <= 2 && t_captured.size() < kMaxCaptured) t_captured += text;
  if (rank > g_level.load(std::memory_order_relaxed)) return;
  {
    std::lock_guard<std::mutex> lock(g_handlerMutex);
    if (g_handler) {
      auto* line = new LogLine{rank, text};
      if (g_handler->NonBlockingCall(line, CallHandler) != napi_ok) delete line;
      return;
    }
  }
  fputs(text, stderr);
}
}  // namespace

void SetLogHandler(Napi::Env env, const Napi::Value& handler) {
  std::lock_guard<std::mutex> lock(g_handlerMutex);
  DropHandlerLocked();
  if (!handler.IsFunction()) return;
  g_handler = std::make_unique<Napi::ThreadSafeFunction>(
      Napi::ThreadSafeFunction::New(env, handler.As<Napi::Function>(), "inferaligner:log", 0, 1));
  // A pending log line must not keep the process alive.
  g_handler->Unref(env);
  g_handlerEnv = env;
  napi_env raw = env;
  env.AddCleanupHook([raw] {
    std::lock_guard<std::mutex> lock(g_handlerMutex);
    if (g_handlerEnv == raw) DropHandlerLocked();
  });
}

void SetLogLevel(int level) { g_level.store(level); }
void InstallLogCallback() { llama_log_set(OnLog, nullptr); }
void BeginLogCapture() { t_captured.clear(); }
std::string CapturedLog() {
  std::string s = t_captured;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace inferaligner
