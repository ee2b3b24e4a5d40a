#include "Probe.h"

#include <cmath>
#include <string>

#include "errors.h"

namespace inferaligner {
namespace {

// One fit's samples, standardised: z = (unit(x) - mean) / scale, with y = 1 for harmful.
struct Standardised {
  size_t n = 0;
  size_t d = 0;
  std::vector<double> z;
  std::vector<double> y;
  std::vector<double> scale;
};

// Unit-normalises each selected row, then centres and scales every feature over the selection
// (population standard deviation; a constant feature keeps scale 1), as fitLogistic does.
Standardised Standardise(const std::vector<const float*>& rows, const std::vector<double>& labels, size_t d) {
  Standardised s;
  s.n = rows.size();
  s.d = d;
  s.z.resize(s.n * d);
  s.y = labels;
  for (size_t k = 0; k < s.n; k++) {
    double norm = 0;
    for (size_t j = 0; j < d; j++) norm += static_cast<double>(rows[k][j]) * rows[k][j];
    norm = std::sqrt(norm);
    if (norm == 0) norm = 1;
    for (size_t j = 0; j < d; j++) s.z[k * d + j] = rows[k][j] / norm;
  }
  std::vector<double> mean(d, 0.0);
  s.scale.assign(d, 0.0);
  for (size_t k = 0; k < s.n; k++)
    for (size_t j = 0; j < d; j++) mean[j] += s.z[k * d + j];
  for (size_t j = 0; j < d; j++) mean[j] /= static_cast<double>(s.n);
  for (size_t k = 0; k < s.n; k++)
    for (size_t j = 0; j < d; j++) s.scale[j] += (s.z[k * d + j] - mean[j]) * (s.z[k * d + j] - mean[j]);
  for (size_t j = 0; j < d; j++) {
    const double sd = std::sqrt(s.scale[j] / static_cast<double>(s.n));
    s.scale[j] = sd > 0 && std::isfinite(sd) ? sd : 1;
  }
  for (size_t k = 0; k < s.n; k++)
    for (size_t j = 0; j < d; j++) s.z[k * d + j] = (s.z[k * d + j] - mean[j]) / s.scale[j];
  return s;
}

// Four partial sums so the compiler can keep several multiply-adds in flight (the order differs
// from the JavaScript reference by rounding only).
double Dot(const double* a, const double* b, size_t d) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t j = 0;
  for (; j + 4 <= d; j += 4) {
    s0 += a[j] * b[j];
    s1 += a[j + 1] * b[j + 1];
    s2 += a[j + 2] * b[j + 2];
    s3 += a[j + 3] * b[j + 3];
  }
  for (; j < d; j++) s0 += a[j] * b[j];
  return (s0 + s1) + (s2 + s3);
}

// Full-batch Adam on the mean log loss + l2/2 |w|^2 (bias w[d], not penalised), from w.
void AdamFit(const Standardised& s, double l2, int iterations, std::vector<double>& w) {
  const size_t n = s.n, d = s.d;
  std::vector<double> m(d + 1, 0.0), v(d + 1, 0.0), grad(d + 1, 0.0);
  const double rate = 0.05;
  double decay1 = 1, decay2 = 1;
  for (int it = 1; it <= iterations; it++) {
    std::fill(grad.begin(), grad.end(), 0.0);
    for (size_t k = 0; k < n; k++) {
      const double* row = &s.z[k * d];
      const double logit = w[d] + Dot(w.data(), row, d);
      const double g = (1 / (1 + std::exp(-logit)) - s.y[k]) / static_cast<double>(n);
      for (size_t j = 0; j < d; j++) grad[j] += g * row[j];
      grad[d] += g;
    }
    for (size_t j = 0; j < d; j++) grad[j] += l2 * w[j];
    decay1 *= 0.9;
    decay2 *= 0.999;
    const double c1 = 1 - decay1, c2 = 1 - decay2;
    for (size_t j = 0; j <= d; j++) {
      m[j] = 0.9 * m[j] + 0.1 * grad[j];
      v[j] = 0.999 * v[j] + 0.001 * grad[j] * grad[j];
      w[j] -= (rate * (m[j] / c1)) / (std::sqrt(v[j] / c2) + 1e-8);
    }
  }
}

// The fit's weights in activation space (w_j / scale_j), as a unit vector, into out.
void DirectionOf(const Standardised& s, const std::vector<double>& w, float* out) {
  double norm = 0;
  for (size_t j = 0; j < s.d; j++) norm += (w[j] / s.scale[j]) * (w[j] / s.scale[j]);
  norm = std::sqrt(norm);
  if (!(norm > 0) || !std::isfinite(norm)) {
    throw AddonError(
        ErrorCode::InvalidArgument, "the gate probe found no direction (its weights are zero or not finite)");
  }
  for (size_t j = 0; j < s.d; j++) out[j] = static_cast<float>((w[j] / s.scale[j]) / norm);
}

}  // namespace

std::vector<float> FitGateProbe(const float* harmful, size_t nHarmful, const float* harmless, size_t nHarmless,
    size_t d, const ProbeFitSettings& settings) {
  if (nHarmful == 0 || nHarmless == 0 || d == 0) {
    throw AddonError(ErrorCode::InvalidArgument, "a probe needs samples of both classes");
  }
  const size_t folds = settings.folds >= 2 ? static_cast<size_t>(settings.folds) : 0;
  if (folds > nHarmful || folds > nHarmless) {
    throw AddonError(ErrorCode::InvalidArgument, "cross-fitting needs at least as many samples of each class as folds");
  }
  // Selects the samples of one fit: all (fold < 0) or all but fold `fold` of each class.
  auto select = [&](long fold, std::vector<const float*>& rows, std::vector<double>& labels) {
    rows.clear();
    labels.clear();
    for (size_t i = 0; i < nHarmful; i++) {
      if (fold >= 0 && i % folds == static_cast<size_t>(fold)) continue;
      rows.push_back(harmful + i * d);
      labels.push_back(1);
    }
    for (size_t i = 0; i < nHarmless; i++) {
      if (fold >= 0 && i % folds == static_cast<size_t>(fold)) continue;
      rows.push_back(harmless + i * d);
      labels.push_back(0);
    }
  };
  std::vector<float> out((1 + folds) * d);
  std::vector<const float*> rows;
  std::vector<double> labels;
  select(-1, rows, labels);
  const Standardised all = Standardise(rows, labels, d);
  std::vector<double> whole(d + 1, 0.0);
  AdamFit(all, settings.l2, settings.wholeIterations, whole);
  DirectionOf(all, whole, out.data());
  for (size_t f = 0; f < folds; f++) {
    select(static_cast<long>(f), rows, labels);
    const Standardised part = Standardise(rows, labels, d);
    std::vector<double> w = whole;  // the whole fit's weights, in its own standardised units
    AdamFit(part, settings.l2, settings.foldIterations, w);
    DirectionOf(part, w, out.data() + (1 + f) * d);
  }
  return out;
}

}  // namespace inferaligner
