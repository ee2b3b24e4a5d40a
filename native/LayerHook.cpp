#include "LayerHook.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "ggml-backend.h"

namespace inferaligner {

void LayerHook::StartCapture(std::vector<int32_t> layers, CaptureMode mode) {
  captureLayers_ = std::move(layers);
  captureMode_ = mode;
  rows_.clear();
  outputRows_.clear();
  captured_.assign(captureLayers_.size(), {});
}

void LayerHook::SetCapture(std::vector<int32_t> layers, std::vector<int32_t> rows, std::vector<int32_t> outputRows) {
  StartCapture(std::move(layers), CaptureMode::Rows);
  rows_ = std::move(rows);
  outputRows_ = std::move(outputRows);
}

void LayerHook::SetCaptureAllRows(std::vector<int32_t> layers) {
  StartCapture(std::move(layers), CaptureMode::AllRows);
}

void LayerHook::SetCaptureLastRow(std::vector<int32_t> layers, size_t keep) {
  StartCapture(std::move(layers), CaptureMode::LastRow);
  lastKeep_ = std::max<size_t>(keep, 1);
}

std::vector<std::vector<float>> LayerHook::PooledRows() const {
  std::vector<std::vector<float>> out;
  for (const auto& rows : captured_) {
    if (rows.size() == 1) {
      out.push_back(rows[0]);
      continue;
    }
    std::vector<double> sum(rows.empty() ? 0 : rows[0].size(), 0.0);
    for (const auto& row : rows)
      for (size_t i = 0; i < row.size() && i < sum.size(); i++) sum[i] += row[i];
    std::vector<float> mean(sum.size());
    for (size_t i = 0; i < sum.size(); i++) mean[i] = static_cast<float>(sum[i] / static_cast<double>(rows.size()));
    out.push_back(std::move(mean));
  }
  return out;
}

void LayerHook::ClearCapture() {
  StartCapture({}, CaptureMode::Rows);
  captured_.clear();
}

void LayerHook::SetShift(int32_t layer, std::vector<float> shift) {
  if (shift.empty()) shifts_.erase(layer);
  else shifts_[layer] = std::move(shift);
}

void LayerHook::ArmGatedShift(GatedShift gated) {
  gated_ = std::make_unique<GatedShift>(std::move(gated));
  gatedDecided_ = false;
  gatedOpen_ = false;
}

void LayerHook::AddToRows(ggml_tensor* t, int64_t fromRow, const std::vector<float>& shift) {
  const int64_t nRows = t->ne[1];
  if (fromRow >= nRows) return;
  const size_t rowBytes = static_cast<size_t>(nEmbd_) * sizeof(float);
  const size_t offset = static_cast<size_t>(fromRow) * rowBytes;
  const size_t bytes = static_cast<size_t>(nRows - fromRow) * rowBytes;
  scratch_.resize(static_cast<size_t>(nRows - fromRow) * nEmbd_);
  ggml_backend_tensor_get(t, scratch_.data(), offset, bytes);
  for (int64_t r = 0; r < nRows - fromRow; r++) {
    float* row = scratch_.data() + r * nEmbd_;
    for (int32_t i = 0; i < nEmbd_; i++) row[i] += shift[i];
  }
  ggml_backend_tensor_set(t, scratch_.data(), offset, bytes);
}

void LayerHook::ResetSeen() {
  seen_.assign(nLayer_, false);
  error_.clear();
}

std::vector<int32_t> LayerHook::MissingLayers() const {
  std::vector<int32_t> missing;
  auto check = [&](int32_t l) {
    if (l >= 0 && l < nLayer_ && (seen_.empty() || !seen_[l])) missing.push_back(l);
  };
  for (int32_t l : captureLayers_) check(l);
  for (const auto& [l, _] : shifts_) check(l);
  std::sort(missing.begin(), missing.end());
  missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
  return missing;
}

// "l_out-<n>" -> n; -1 for any other tensor.
int32_t LayerHook::LayerOf(const ggml_tensor* t) const {
  static constexpr char kPrefix[] = "l_out-";
  if (std::strncmp(t->name, kPrefix, sizeof kPrefix - 1) != 0) return -1;
  char* end = nullptr;
  const long n = std::strtol(t->name + sizeof kPrefix - 1, &end, 10);
  if (end == t->name + sizeof kPrefix - 1 || *end != '\0' || n < 0 || n >= nLayer_) return -1;
  return static_cast<int32_t>(n);
}

bool LayerHook::OnTensor(ggml_tensor* t, bool ask) {
  const int32_t layer = LayerOf(t);
  if (layer < 0) return ask ? false : true;
  const auto captureIt = std::find(captureLayers_.begin(), captureLayers_.end(), layer);
  const auto shiftIt = shifts_.find(layer);
  const bool gatedLayer = gated_ && (layer == gated_->decideAfter || gated_->shifts.count(layer) > 0);
  const bool wanted = captureIt != captureLayers_.end() || shiftIt != shifts_.end() || gatedLayer;
  if (ask) return wanted;
  if (!wanted) return true;
  if (!seen_.empty()) seen_[layer] = true;

  // Block outputs are F32 rows of n_embd; anything else means a layout we do not understand.
  if (t->type != GGML_TYPE_F32 || t->ne[0] != nEmbd_ || t->nb[1] != static_cast<size_t>(nEmbd_) * sizeof(float)) {
    error_ = std::string("unexpected layout of ") + t->name;
    return false;
  }
  const int64_t nRows = t->ne[1];
  const size_t rowBytes = static_cast<size_t>(nEmbd_) * sizeof(float);

  // Shift first: capture then sees the steered stream, as later layers do.
  if (shiftIt != shifts_.end() && nRows > 0) AddToRows(t, 0, shiftIt->second);
  if (gated_ && gatedOpen_) {
    const auto gatedIt = gated_->shifts.find(layer);
    if (gatedIt != gated_->shifts.end())
      AddToRows(t, nRows == gated_->ubatchRows ? gated_->firstRow : 0, gatedIt->second);
  }

  if (captureIt != captureLayers_.end()) {
    auto& out = captured_[captureIt - captureLayers_.begin()];
    if (captureMode_ == CaptureMode::LastRow) {
      const int64_t take = std::min<int64_t>(nRows, static_cast<int64_t>(lastKeep_));
      for (int64_t r = nRows - take; r < nRows; r++) {
        out.emplace_back(nEmbd_);
        ggml_backend_tensor_get(t, out.back().data(), static_cast<size_t>(r) * rowBytes, rowBytes);
      }
      if (out.size() > lastKeep_) out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(lastKeep_));
    } else if (captureMode_ == CaptureMode::AllRows) {
      out.assign(nRows, std::vector<float>(nEmbd_));
      for (int64_t r = 0; r < nRows; r++) ggml_backend_tensor_get(t, out[r].data(), r * rowBytes, rowBytes);
    } else {
      // The last block's output keeps only the ubatch's output rows (llama.cpp drops the others
      // before that block's final adds); every other block has all rows.
      const bool onlyOutputs = layer == nLayer_ - 1;
      const std::vector<int32_t>& which = onlyOutputs ? outputRows_ : rows_;
      for (int32_t r : which) {
        if (r < 0 || r >= nRows) {
          error_ =
              std::string("row ") + std::to_string(r) + " not in " + t->name + " (" + std::to_string(nRows) + " rows)";
          return false;
        }
      }
      for (int32_t r : which) {
        out.emplace_back(nEmbd_);
        ggml_backend_tensor_get(t, out.back().data(), static_cast<size_t>(r) * rowBytes, rowBytes);
      }
    }
  }
  if (gated_ && layer == gated_->decideAfter && !gatedDecided_) {
    gatedDecided_ = true;
    gatedOpen_ = gated_->decide(PooledRows());
  }
  return true;
}

}  // namespace inferaligner
