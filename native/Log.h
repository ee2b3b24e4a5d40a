// llama.cpp/ggml log routing. llama.cpp explains most load failures only in its log, so the log
// callback keeps the recent error lines of the calling thread for the next error message, and
// forwards lines to stderr only at or above the level the user chose (silent by default).
#pragma once

#include <napi.h>

#include <string>

namespace inferaligner {

// 0 = none, 1 = error, 2 = warn, 3 = info, 4 = debug.
void SetLogLevel(int level);
void InstallLogCallback();
// Lines at or above the level go to `handler(rank, text)` (a JS function, on its thread) instead
// of stderr; anything but a function restores stderr.
void SetLogHandler(Napi::Env env, const Napi::Value& handler);

// Recent error/warning lines logged by the current thread; Begin clears them.
void BeginLogCapture();
std::string CapturedLog();

}  // namespace inferaligner
