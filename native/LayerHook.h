// LayerHook: the eval-callback work on the residual stream (`l_out-<layer>`, each block's output
// after its residual adds). It can copy chosen rows of chosen layers out of the graph (activation
// capture), and add a fixed vector to every row of chosen layers (steering shift), in place, before
// later layers read them. Runs on the decoding thread inside llama_decode; no Napi here.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "EvalHook.h"

namespace inferaligner {

class LayerHook : public EvalHook {
 public:
  LayerHook(int32_t nLayer, int32_t nEmbd) : nLayer_(nLayer), nEmbd_(nEmbd) {}

  // --- configuration (caller holds the context's busy flag) ---
  // Layers whose rows to copy, and which rows: `rows` are indices into this decode's ubatch;
  // `outputRows` the same rows counted among the ubatch's outputs (the last layer keeps only those).
  void SetCapture(std::vector<int32_t> layers, std::vector<int32_t> rows, std::vector<int32_t> outputRows);
  // Copy every row of the captured layers (for one-prompt reference paths).
  void SetCaptureAllRows(std::vector<int32_t> layers);
  // Keep, per layer, the last `keep` rows seen over the decodes since this call (the last block:
  // its output rows only). After the prompt's decodes that is its last-token activation (keep 1),
  // or its last `keep` tokens' rows, whatever the batch split: the gate reads them without
  // changing how the prompt is evaluated.
  void SetCaptureLastRow(std::vector<int32_t> layers, size_t keep = 1);
  // Per captured layer, the mean of its kept rows (the row itself when one is kept; empty when
  // none was seen).
  std::vector<std::vector<float>> PooledRows() const;
  void ClearCapture();
  // Adds `shift` (n_embd floats) to every row of `layer`'s output; empty clears.
  void SetShift(int32_t layer, std::vector<float> shift);
  void ClearShifts() { shifts_.clear(); }

  // One-pass guidance: the gate is decided inside the decode, right after the last gate block's
  // output (captured with SetCaptureLastRow), and when it opens the shift goes onto every later
  // steered block's output in the same pass: no second prefill. Rows before `firstRow` belong to
  // earlier turns and stay unshifted (the last block, which keeps only output rows, is shifted
  // whole: its rows are the turn's last token).
  struct GatedShift {
    int32_t decideAfter = -1;  // the last gate block; every steered block comes after it
    int64_t firstRow = 0;
    int64_t ubatchRows = 0;  // rows of a block's output in this decode
    std::function<bool(const std::vector<std::vector<float>>& lastRows)> decide;
    std::map<int32_t, std::vector<float>> shifts;
  };
  void ArmGatedShift(GatedShift gated);
  void DisarmGatedShift() { gated_.reset(); }
  // Whether the armed gate was decided in the last decode, and how.
  bool gateDecided() const { return gated_ && gatedDecided_; }
  bool gateOpen() const { return gated_ && gatedOpen_; }

  bool active() const { return !captureLayers_.empty() || !shifts_.empty() || gated_ != nullptr; }

  // --- results of the last decode ---
  // captured()[i][r] = n_embd floats of captured row r at captureLayers()[i].
  const std::vector<std::vector<std::vector<float>>>& captured() const { return captured_; }
  const std::vector<int32_t>& captureLayers() const { return captureLayers_; }
  // Layers asked for (capture or shift) that the graph never showed: the architecture names its
  // block outputs differently.
  std::vector<int32_t> MissingLayers() const;
  void ResetSeen();
  std::string error() const { return error_; }

  bool OnTensor(ggml_tensor* t, bool ask) override;

 private:
  int32_t LayerOf(const ggml_tensor* t) const;

  int32_t nLayer_;
  int32_t nEmbd_;
  std::vector<int32_t> captureLayers_;
  std::vector<int32_t> rows_;
  std::vector<int32_t> outputRows_;
  // Which rows of a captured layer to copy.
  enum class CaptureMode { Rows, AllRows, LastRow };
  void StartCapture(std::vector<int32_t> layers, CaptureMode mode);
  CaptureMode captureMode_ = CaptureMode::Rows;
  size_t lastKeep_ = 1;
  std::map<int32_t, std::vector<float>> shifts_;
  std::unique_ptr<GatedShift> gated_;
  bool gatedDecided_ = false;
  bool gatedOpen_ = false;
  void AddToRows(ggml_tensor* t, int64_t fromRow, const std::vector<float>& shift);
  std::vector<std::vector<std::vector<float>>> captured_;
  std::vector<bool> seen_;
  std::string error_;
  std::vector<float> scratch_;
};

}  // namespace inferaligner
