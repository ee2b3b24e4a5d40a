#include "workers/ProbeWorker.h"

#include <cmath>
#include <string>

#include "common.h"

namespace inferaligner {

ProbeWorker::ProbeWorker(Napi::Env env, Napi::Object owner, std::vector<float> harmful, std::vector<float> harmless,
    size_t d, ProbeFitSettings settings)
    : PromiseWorker(env, "inferaligner:FitGateProbe", owner),
      harmful_(std::move(harmful)),
      harmless_(std::move(harmless)),
      d_(d),
      settings_(settings) {}

void ProbeWorker::Run() {
  directions_ =
      FitGateProbe(harmful_.data(), harmful_.size() / d_, harmless_.data(), harmless_.size() / d_, d_, settings_);
}

Napi::Value ProbeWorker::Resolve(Napi::Env env) {
  Napi::Float32Array out = Napi::Float32Array::New(env, directions_.size());
  std::copy(directions_.begin(), directions_.end(), out.Data());
  return out;
}

namespace {

int IntegerOption(Napi::Env env, const Napi::Object& o, const char* key, int low, int high) {
  const Napi::Value v = o.Get(key);
  if (!v.IsNumber()) ThrowTypeError(env, std::string(key) + " must be a number");
  const double x = v.As<Napi::Number>().DoubleValue();
  if (!(x >= low && x <= high) || std::floor(x) != x) {
    ThrowRangeError(
        env, std::string(key) + " must be an integer in [" + std::to_string(low) + ", " + std::to_string(high) + "]");
  }
  return static_cast<int>(x);
}

}  // namespace

Napi::Value JS_FitGateProbe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[2].IsNumber()) ThrowTypeError(env, "the row length must be a number");
  const double dValue = info[2].As<Napi::Number>().DoubleValue();
  if (!(dValue >= 1 && dValue <= 1e6) || std::floor(dValue) != dValue)
    ThrowRangeError(env, "the row length must be a positive integer");
  const size_t d = static_cast<size_t>(dValue);
  std::vector<float> harmful = ReadFloatRows(env, info[0], d, 0, "the harmful rows");
  std::vector<float> harmless = ReadFloatRows(env, info[1], d, 0, "the harmless rows");
  if (!info[3].IsObject()) ThrowTypeError(env, "the probe settings must be an object");
  const Napi::Object o = info[3].As<Napi::Object>();
  ProbeFitSettings settings;
  const Napi::Value l2 = o.Get("l2");
  if (!l2.IsNumber() || !(l2.As<Napi::Number>().DoubleValue() >= 0) ||
      !std::isfinite(l2.As<Napi::Number>().DoubleValue())) {
    ThrowRangeError(env, "l2 must be a finite number >= 0");
  }
  settings.l2 = l2.As<Napi::Number>().DoubleValue();
  settings.wholeIterations = IntegerOption(env, o, "wholeIterations", 0, 1000000);
  settings.foldIterations = IntegerOption(env, o, "foldIterations", 0, 1000000);
  settings.folds = IntegerOption(env, o, "folds", 0, 1000);
  auto* worker = new ProbeWorker(env, info[0].As<Napi::Object>(), std::move(harmful), std::move(harmless), d, settings);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace inferaligner
