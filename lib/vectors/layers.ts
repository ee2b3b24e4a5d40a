// Per-layer results of an extraction, from the two classes' statistics: the class means, the
// direction between them, the gate thresholds on the calibration prompts, the metrics on the
// validation prompts, and the suggested gate and steered layers. Pure functions of the captured
// activations (no model).
import { LlamaError } from "../errors.js";
import { SCORE_KINDS, type ScoreKind } from "../vocabulary.js";
import { classMean, keptAtLayer, meanActivationNorm, unitDifference, type ClassAccumulator } from "./classStats.js";
import type { LayerVectors, SafetyVectors, ThresholdInfo, ValidationInfo } from "./safetyVectors.js";
import { calibrationThresholds, score, validationMetrics } from "./stats.js";

/** Per score kind and layer, the scores of one class's prompts: scores[kind][layer][prompt]. */
export type LayerScores = Record<ScoreKind, number[][]>;

/**
 * Every layer's vectors and thresholds, and the calibration scores (of the sampled activations)
 * they were chosen on. Throws ERR_INVALID_ARGUMENT when a layer's class means are equal or not
 * finite.
 */
export function fitLayers(
  harmful: ClassAccumulator,
  harmless: ClassAccumulator,
  falseOpenBudget: number,
): { layers: LayerVectors[]; calibrationScores: SafetyVectors["calibrationScores"] } {
  const layers: LayerVectors[] = [];
  const calibrationScores = Object.fromEntries(SCORE_KINDS.map((kind) => [kind, []])) as unknown as SafetyVectors["calibrationScores"];
  for (let l = 0; l < harmful.nLayers; l++) {
    const harmfulMean = classMean(harmful, l);
    const harmlessMean = classMean(harmless, l);
    const { direction, norm } = unitDifference(harmfulMean, harmlessMean);
    if (!(norm > 0) || !Number.isFinite(norm)) {
      throw new LlamaError(`layer ${l}: the class means are equal or not finite; cannot form a direction`, "ERR_INVALID_ARGUMENT");
    }
    const thresholds = {} as Record<ScoreKind, ThresholdInfo>;
    for (const kind of SCORE_KINDS) {
      const hs = keptAtLayer(harmful, l).map((a) => score(kind, a, direction));
      const bs = keptAtLayer(harmless, l).map((a) => score(kind, a, direction));
      calibrationScores[kind].push({ harmful: hs, harmless: bs });
      thresholds[kind] = calibrationThresholds(hs, bs, falseOpenBudget);
    }
    layers.push({
      layer: l,
      harmfulMean: Float32Array.from(harmfulMean),
      harmlessMean: Float32Array.from(harmlessMean),
      direction,
      norm,
      meanActivationNorm: meanActivationNorm([harmful, harmless], l),
      thresholds,
    });
  }
  return { layers, calibrationScores };
}

export function newLayerScores(nLayers: number): LayerScores {
  return Object.fromEntries(SCORE_KINDS.map((kind) => [kind, Array.from({ length: nLayers }, () => [])])) as unknown as LayerScores;
}

/** Adds one prompt's scores, at every layer of `layers`, to `out` (activation: nLayers x nEmbd). */
export function addLayerScores(out: LayerScores, layers: readonly LayerVectors[], rows: Float32Array): void {
  for (const kind of SCORE_KINDS) {
    for (const lv of layers) {
      const nEmbd = lv.direction.length;
      out[kind][lv.layer]!.push(score(kind, rows.subarray(lv.layer * nEmbd, (lv.layer + 1) * nEmbd), lv.direction));
    }
  }
}

/**
 * Sets each layer's `validation` from the held-out scores, and its `budget` thresholds to the ones
 * chosen over the harmless calibration and validation scores together (see validationMetrics).
 * Changes `layers` in place.
 */
export function applyValidation(
  layers: LayerVectors[],
  calibrationScores: SafetyVectors["calibrationScores"],
  harmful: LayerScores,
  harmless: LayerScores,
  falseOpenBudget: number,
): void {
  for (const lv of layers) {
    lv.validation = {} as Record<ScoreKind, ValidationInfo>;
    for (const kind of SCORE_KINDS) {
      const calibrationHarmless = calibrationScores[kind][lv.layer]!.harmless;
      const { budget, validation } = validationMetrics(
        harmful[kind][lv.layer]!,
        harmless[kind][lv.layer]!,
        calibrationHarmless,
        lv.thresholds[kind].best,
        falseOpenBudget,
      );
      lv.thresholds[kind].budget = budget;
      lv.validation[kind] = validation;
    }
  }
}

/**
 * Gate layer: the layer whose default (false-open budget) threshold opens the most harmful
 * validation prompts, then the best ROC AUC, then accuracy: the gate users get is the budget
 * threshold, and AUC alone ties at 1.0 on many layers of an instruction-tuned model while their
 * open rates at the budget differ widely. Without a validation split: calibration accuracy.
 * Steered layers: the contiguous run around it whose accuracy stays within 0.05 of the best
 * (method.md: layers where harmful intent is detected well).
 */
export function suggestLayers(layers: readonly LayerVectors[]): { gateLayer: number; steerLayers: [number, number] } {
  const quality = (lv: LayerVectors): number[] =>
    lv.validation ? [lv.validation.cosine.openHarmful, lv.validation.cosine.auc, lv.validation.cosine.accuracy] : [lv.thresholds.cosine.calibrationAccuracy];
  const better = (a: number[], b: number[]): boolean => {
    for (let i = 0; i < a.length; i++) {
      if (a[i]! > b[i]! + 1e-12) return true;
      if (a[i]! < b[i]! - 1e-12) return false;
    }
    return false;
  };
  let gate = layers[0]!;
  for (const lv of layers) if (better(quality(lv), quality(gate))) gate = lv;
  const accuracy = (lv: LayerVectors) => (lv.validation ? lv.validation.cosine.accuracy : lv.thresholds.cosine.calibrationAccuracy);
  const floor = accuracy(gate) - 0.05;
  let from = gate.layer;
  let to = gate.layer;
  while (from - 1 >= 0 && accuracy(layers[from - 1]!) >= floor) from--;
  while (to + 1 < layers.length && accuracy(layers[to + 1]!) >= floor) to++;
  return { gateLayer: gate.layer, steerLayers: [from, to] };
}
