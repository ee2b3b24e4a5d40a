// Shared includes and small helpers for reading JS arguments on the main thread.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "llama.h"

namespace inferaligner {

// Reads an optional property; returns `fallback` when it is absent or undefined.
inline int32_t OptInt(const Napi::Object& o, const char* key, int32_t fallback) {
  if (!o.Has(key)) return fallback;
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : fallback;
}
inline uint32_t OptUint(const Napi::Object& o, const char* key, uint32_t fallback) {
  if (!o.Has(key)) return fallback;
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : fallback;
}
inline double OptDouble(const Napi::Object& o, const char* key, double fallback) {
  if (!o.Has(key)) return fallback;
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : fallback;
}
inline bool OptBool(const Napi::Object& o, const char* key, bool fallback) {
  if (!o.Has(key)) return fallback;
  Napi::Value v = o.Get(key);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : fallback;
}

// Reads an array of block indices in [0, nLayer); `what` names the option in errors.
// What a block given twice means: an error, dropped, or kept (gate entries may share a block).
enum class RepeatedLayers { Refuse, Drop, Keep };
std::vector<int32_t> ReadLayerIndices(
    Napi::Env env, const Napi::Value& value, int32_t nLayer, const char* what, RepeatedLayers repeats);

// Copies a Float32Array of finite values whose length is a non-empty multiple of `rowLength` (with
// `rows` > 0: exactly `rows` rows); `what` names it in errors (TypeError for the type, RangeError for
// the length or a NaN or infinity).
std::vector<float> ReadFloatRows(
    Napi::Env env, const Napi::Value& value, size_t rowLength, size_t rows, const std::string& what);

// Copies a Uint32Array (or array of numbers) of token ids.
std::vector<llama_token> ReadTokens(const Napi::Value& value);
Napi::Uint32Array MakeTokenArray(Napi::Env env, const std::vector<llama_token>& tokens);

}  // namespace inferaligner
