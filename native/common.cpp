#include "common.h"

#include <cmath>

#include "errors.h"

namespace inferaligner {

std::vector<llama_token> ReadTokens(const Napi::Value& value) {
  Napi::Env env = value.Env();
  std::vector<llama_token> tokens;
  if (value.IsTypedArray() && value.As<Napi::TypedArray>().TypedArrayType() == napi_uint32_array) {
    Napi::Uint32Array arr = value.As<Napi::Uint32Array>();
    tokens.assign(arr.Data(), arr.Data() + arr.ElementLength());
  } else if (value.IsArray()) {
    Napi::Array arr = value.As<Napi::Array>();
    tokens.reserve(arr.Length());
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Value v = arr.Get(i);
      if (!v.IsNumber()) ThrowTypeError(env, "token ids must be numbers");
      tokens.push_back(v.As<Napi::Number>().Int32Value());
    }
  } else {
    ThrowTypeError(env, "tokens must be a Uint32Array or an array of numbers");
  }
  return tokens;
}

std::vector<int32_t> ReadLayerIndices(
    Napi::Env env, const Napi::Value& value, int32_t nLayer, const char* what, RepeatedLayers repeats) {
  if (!value.IsArray()) ThrowTypeError(env, std::string(what) + " must be an array of block indices");
  Napi::Array arr = value.As<Napi::Array>();
  std::vector<int32_t> layers;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value x = arr.Get(i);
    if (!x.IsNumber()) ThrowTypeError(env, std::string(what) + " must hold numbers");
    const int32_t l = x.As<Napi::Number>().Int32Value();
    if (l < 0 || l >= nLayer) {
      ThrowRangeError(
          env, std::string(what) + ": layer " + std::to_string(l) + " is outside 0.." + std::to_string(nLayer - 1));
    }
    bool seen = false;
    for (int32_t s : layers) seen = seen || s == l;
    if (seen && repeats == RepeatedLayers::Refuse)
      ThrowRangeError(env, std::string(what) + ": layer " + std::to_string(l) + " is given twice");
    if (!seen || repeats == RepeatedLayers::Keep) layers.push_back(l);
  }
  return layers;
}

std::vector<float> ReadFloatRows(
    Napi::Env env, const Napi::Value& value, size_t rowLength, size_t rows, const std::string& what) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    ThrowTypeError(env, what + " must be a Float32Array");
  }
  Napi::Float32Array a = value.As<Napi::Float32Array>();
  const size_t n = a.ElementLength();
  if (rows > 0 && n != rows * rowLength) {
    ThrowRangeError(env, what + " must have " + std::to_string(rows * rowLength) + " values");
  }
  if (n == 0 || n % rowLength != 0) {
    ThrowRangeError(
        env, what + " must be a non-empty whole number of rows of " + std::to_string(rowLength) + " values");
  }
  std::vector<float> out(a.Data(), a.Data() + n);
  for (float x : out) {
    if (!std::isfinite(x)) ThrowRangeError(env, what + " has a value that is not finite");
  }
  return out;
}

Napi::Uint32Array MakeTokenArray(Napi::Env env, const std::vector<llama_token>& tokens) {
  Napi::Uint32Array arr = Napi::Uint32Array::New(env, tokens.size());
  for (size_t i = 0; i < tokens.size(); i++) arr[i] = static_cast<uint32_t>(tokens[i]);
  return arr;
}

}  // namespace inferaligner
