#include "Log.h"

#include <atomic>
#include <cstdio>

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

void OnLog(ggml_log_level level, const char* text, void* /*user*/) {
  const int rank = LevelRank(level);
  if (rank <= 2 && t_captured.size() < kMaxCaptured) t_captured += text;
  if (rank <= g_level.load(std::memory_order_relaxed)) fputs(text, stderr);
}
}  // namespace

void SetLogLevel(int level) { g_level.store(level); }
void InstallLogCallback() { llama_log_set(OnLog, nullptr); }
void BeginLogCapture() { t_captured.clear(); }
std::string CapturedLog() {
  std::string s = t_captured;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace inferaligner
