// InferAligner at inference (method.md): the guidance gate, decided once per turn from the target
// model's last-prompt-token activation at the gate layers, and the steering shift alpha * theta_l
// added to every steered layer's output for the whole turn when the gate opens. Copied from JS on
// the main thread; used on the worker thread.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace inferaligner {

struct GuidanceOptions {
  enum class Mode { Off, Monitor, Steer, Refuse };
  enum class Score { Cosine, Projection };

  Mode mode = Mode::Off;
  Score score = Score::Cosine;
  // How the gate entries decide: at least half of them open (one entry: it decides), or any one.
  enum class GateRule { Majority, Any };
  GateRule gateRule = GateRule::Majority;
  // Gate entries: a block, a unit direction and a threshold each. Two entries may read the same
  // block (directions from different vector files).
  std::vector<int32_t> gateLayers;
  std::vector<std::vector<float>> gateDirections;  // unit s_l of the target, per gate entry
  std::vector<double> thresholds;                  // per gate entry (-inf: always open)
  std::vector<int32_t> captureLayers;              // the distinct gate blocks, in first-seen order
  std::vector<int32_t> steerLayers;
  std::vector<std::vector<float>> steerShifts;  // alpha * theta_l, per steered layer
  // The shift on every steered layer through the eval hook rather than llama.cpp's control vector
  // (set for Vulkan, where setting the control vector again after a decode corrupts the heap).
  bool shiftByHook = false;
  // Decide the gate and shift in the prompt's own pass where the configuration allows it (issue 15);
  // false keeps the rollback path (the one-pass oracle test compares the two).
  bool onePass = true;
  // The gate reads the mean of the prompt's last `gatePoolTokens` rows at each gate block (the chat
  // template's tokens after the user's text; issue 15); 1 is the last token (the paper's gate).
  uint32_t gatePoolTokens = 1;

  bool active() const { return mode != Mode::Off; }
  // Throws a Napi TypeError/RangeError for anything malformed.
  static GuidanceOptions FromJs(const Napi::Object& o, int32_t nLayer, int32_t nEmbd);
};

struct GateDecision {
  bool decided = false;
  bool open = false;
  std::vector<double> scores;  // per gate layer
};

// Gate entries vote (GateRule). rows[i] is the gate's activation at captureLayers[i]: the last
// prompt row, or the mean of the last gatePoolTokens rows.
GateDecision DecideGate(const GuidanceOptions& g, const std::vector<std::vector<float>>& rows);

const char* ModeName(GuidanceOptions::Mode mode);

}  // namespace inferaligner
