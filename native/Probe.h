// The gate probe's fit (lib/vectors/probe.ts is its specification and the tests' reference): L2-
// regularised logistic regression on unit-normalised, standardised activations, fitted with full-
// batch Adam, then mapped back to a unit direction in activation space. Here because the fit is the
// slowest part of an extraction in JavaScript (two passes over n x d doubles per iteration, six fits
// per block); pure C++, no Napi, so a worker thread runs it.
#pragma once

#include <cstddef>
#include <vector>

namespace inferaligner {

struct ProbeFitSettings {
  double l2 = 0.1;
  int wholeIterations = 150;  // Adam iterations of the fit on every sample, from zero
  int foldIterations = 50;    // and of each cross-fitting fold, started from the whole fit
  int folds = 5;              // 0 or 1: the whole fit only
};

// harmful: nHarmful x d, harmless: nHarmless x d (row-major). Returns (1 + folds) x d: the whole
// fit's direction, then per fold f the direction fitted without the samples i % folds == f of each
// class. Throws AddonError (InvalidArgument) when a class is empty or the probe finds no direction.
std::vector<float> FitGateProbe(const float* harmful, size_t nHarmful, const float* harmless, size_t nHarmless,
    size_t d, const ProbeFitSettings& settings);

}  // namespace inferaligner
