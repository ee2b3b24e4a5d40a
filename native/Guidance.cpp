#include "Guidance.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common.h"
#include "errors.h"

namespace inferaligner {

GuidanceOptions GuidanceOptions::FromJs(const Napi::Object& o, int32_t nLayer, int32_t nEmbd) {
  Napi::Env env = o.Env();
  GuidanceOptions g;
  const std::string mode = o.Get("mode").ToString().Utf8Value();
  if (mode == "off") g.mode = Mode::Off;
  else if (mode == "monitor") g.mode = Mode::Monitor;
  else if (mode == "steer") g.mode = Mode::Steer;
  else if (mode == "refuse") g.mode = Mode::Refuse;
  else ThrowRangeError(env, "guidance mode must be off, monitor, steer or refuse");
  const std::string score = o.Get("score").ToString().Utf8Value();
  if (score == "cosine") g.score = Score::Cosine;
  else if (score == "projection") g.score = Score::Projection;
  else ThrowRangeError(env, "guidance score must be cosine or projection");
  if (g.mode == Mode::Off) return g;

  g.shiftByHook = o.Get("shiftByHook").ToBoolean().Value();
  g.onePass = !o.Has("onePass") || o.Get("onePass").ToBoolean().Value();
  const Napi::Value rule = o.Get("gateRule");
  if (rule.IsUndefined() || rule.ToString().Utf8Value() == "majority") g.gateRule = GateRule::Majority;
  else if (rule.ToString().Utf8Value() == "any") g.gateRule = GateRule::Any;
  else ThrowRangeError(env, "guidance gateRule must be majority or any");
  g.gateLayers = ReadLayerIndices(env, o.Get("gateLayers"), nLayer, "gateLayers", RepeatedLayers::Keep);
  if (g.gateLayers.empty()) ThrowRangeError(env, "guidance needs at least one gate layer");
  if (o.Has("gatePoolTokens") && !o.Get("gatePoolTokens").IsUndefined()) {
    const Napi::Value pool = o.Get("gatePoolTokens");
    const double n = pool.IsNumber() ? pool.As<Napi::Number>().DoubleValue() : -1;
    if (!(n >= 1 && n <= 256 && std::floor(n) == n))
      ThrowRangeError(env, "guidance gatePoolTokens must be an integer in 1..256");
    g.gatePoolTokens = static_cast<uint32_t>(n);
  }
  // llama.cpp keeps only the output rows (the last token) in the last block's output.
  if (g.gatePoolTokens > 1 && std::find(g.gateLayers.begin(), g.gateLayers.end(), nLayer - 1) != g.gateLayers.end())
    ThrowRangeError(env, "a pooled gate cannot read the last block (" + std::to_string(nLayer - 1) +
                             "): llama.cpp keeps only its last row");
  for (int32_t l : g.gateLayers) {
    if (std::find(g.captureLayers.begin(), g.captureLayers.end(), l) == g.captureLayers.end())
      g.captureLayers.push_back(l);
  }
  if (!o.Get("gateDirections").IsArray() || !o.Get("thresholds").IsArray()) {
    ThrowTypeError(env, "guidance gateDirections and thresholds must be arrays");
  }
  Napi::Array dirs = o.Get("gateDirections").As<Napi::Array>();
  Napi::Array thr = o.Get("thresholds").As<Napi::Array>();
  if (dirs.Length() != g.gateLayers.size() || thr.Length() != g.gateLayers.size()) {
    ThrowRangeError(env, "one direction and one threshold per gate layer");
  }
  for (uint32_t i = 0; i < dirs.Length(); i++) {
    g.gateDirections.push_back(ReadFloatRows(env, dirs.Get(i), nEmbd, 1, "gate direction"));
    if (!thr.Get(i).IsNumber()) ThrowTypeError(env, "a gate threshold must be a number");
    const double t = thr.Get(i).As<Napi::Number>().DoubleValue();
    if (std::isnan(t)) ThrowRangeError(env, "a gate threshold is NaN");
    g.thresholds.push_back(t);
  }
  if (g.mode == Mode::Steer) {
    g.steerLayers = ReadLayerIndices(env, o.Get("steerLayers"), nLayer, "steerLayers", RepeatedLayers::Refuse);
    if (g.steerLayers.empty()) ThrowRangeError(env, "steering needs at least one layer");
    if (!o.Get("steerShifts").IsArray()) ThrowTypeError(env, "guidance steerShifts must be an array");
    Napi::Array shifts = o.Get("steerShifts").As<Napi::Array>();
    if (shifts.Length() != g.steerLayers.size()) ThrowRangeError(env, "one shift per steered layer");
    for (uint32_t i = 0; i < shifts.Length(); i++)
      g.steerShifts.push_back(ReadFloatRows(env, shifts.Get(i), nEmbd, 1, "steering shift"));
  }
  return g;
}

GateDecision DecideGate(const GuidanceOptions& g, const std::vector<std::vector<float>>& rows) {
  GateDecision d;
  size_t votes = 0;
  for (size_t i = 0; i < g.gateLayers.size(); i++) {
    const size_t row =
        std::find(g.captureLayers.begin(), g.captureLayers.end(), g.gateLayers[i]) - g.captureLayers.begin();
    const std::vector<float>& a = rows[row];
    const std::vector<float>& s = g.gateDirections[i];
    double dot = 0, sq = 0;
    for (size_t k = 0; k < s.size(); k++) {
      dot += static_cast<double>(a[k]) * s[k];
      sq += static_cast<double>(a[k]) * a[k];
    }
    const double score = g.score == GuidanceOptions::Score::Projection ? dot : (sq > 0 ? dot / std::sqrt(sq) : 0.0);
    d.scores.push_back(score);
    if (score > g.thresholds[i]) votes++;
  }
  d.decided = true;
  d.open = g.gateRule == GuidanceOptions::GateRule::Any ? votes > 0 : votes * 2 >= g.gateLayers.size() && votes > 0;
  return d;
}

const char* ModeName(GuidanceOptions::Mode mode) {
  switch (mode) {
    case GuidanceOptions::Mode::Off: return "off";
    case GuidanceOptions::Mode::Monitor: return "monitor";
    case GuidanceOptions::Mode::Steer: return "steer";
    case GuidanceOptions::Mode::Refuse: return "refuse";
  }
  return "off";
}

}  // namespace inferaligner
