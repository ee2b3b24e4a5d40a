// Per-layer results of an extraction, from the two classes' statistics: the class means, the
// direction between them, the gate thresholds on the calibration prompts, the metrics on the
// validation prompts, and the suggested gate and steered layers. Pure functions of the captured
// activations (no model).
import { LlamaError } from "../errors.js";
import { SCORE_KINDS, type ScoreKind } from "../vocabulary.js";
import { classMean, keptAtLayer, meanActivationNorm, unitDifference, type ClassAccumulator } from "./classStats.js";
import type { CrossFittedProbe } from "./gateProbes.js";
import type { LayerVectors, SafetyVectors, ThresholdInfo, ValidationInfo } from "./safetyVectors.js";
import { calibrationThresholds, score, validationMetrics } from "./stats.js";

/** Per score kind and layer, the scores of one class's prompts: scores[kind][layer][prompt]. */
export type LayerScores = Record<ScoreKind, number[][]>;

/**
 * Every layer's vectors and thresholds, and the calibration scores (of the sampled activations)
 * they were chosen on. `gate` holds the classes' pooled activations when the gate pools several
 * tokens: its direction becomes the layer's gateDirection and the thresholds are its scores'.
 * `gateProbes` (per layer, fitted on the gate's activations) replace that direction by a probe's.
 * Throws ERR_INVALID_ARGUMENT when a layer's class means are equal or not finite.
 */
export function fitLayers(
  harmful: ClassAccumulator,
  harmless: ClassAccumulator,
  falseOpenBudget: number,
  gate?: { harmful: ClassAccumulator; harmless: ClassAccumulator },
  gateProbes?: readonly CrossFittedProbe[],
): { layers: LayerVectors[]; calibrationScores: SafetyVectors["calibrationScores"] } {
  const layers: LayerVectors[] = [];
  const calibrationScores = Object.fromEntries(SCORE_KINDS.map((kind) => [kind, []])) as unknown as SafetyVectors["calibrationScores"];
  const checked = (l: number, a: ArrayLike<number>, b: ArrayLike<number>) => {
    const d = unitDifference(a, b);
    if (!(d.norm > 0) || !Number.isFinite(d.norm)) {
      throw new LlamaError(`layer ${l}: the class means are equal or not finite; cannot form a direction`, "ERR_INVALID_ARGUMENT");
    }
    return d;
  };
  const gateClasses = gate ?? { harmful, harmless };
  for (let l = 0; l < harmful.nLayers; l++) {
    const harmfulMean = classMean(harmful, l);
    const harmlessMean = classMean(harmless, l);
    const { direction, norm } = checked(l, harmfulMean, harmlessMean);
    const probe = gateProbes?.[l];
    const gateDirection = probe ? probe.direction : gate ? checked(l, classMean(gate.harmful, l), classMean(gate.harmless, l)).direction : undefined;
    // A probe fitted on the calibration prompts scores them higher or lower than prompts it never
    // saw, which would set the thresholds too low (more false opens on new prompts): each
    // calibration prompt is scored by a probe fitted without it (5-fold cross-fitting).
    const scorer = probe ?? { harmful: () => gateDirection ?? direction, harmless: () => gateDirection ?? direction };
    const thresholds = {} as Record<ScoreKind, ThresholdInfo>;
    for (const kind of SCORE_KINDS) {
      const hs = keptAtLayer(gateClasses.harmful, l).map((a, i) => score(kind, a, scorer.harmful(i)));
      const bs = keptAtLayer(gateClasses.harmless, l).map((a, i) => score(kind, a, scorer.harmless(i)));
      calibrationScores[kind].push({ harmful: hs, harmless: bs });
      thresholds[kind] = calibrationThresholds(hs, bs, falseOpenBudget);
    }
    layers.push({
      layer: l,
      harmfulMean: Float32Array.from(harmfulMean),
      harmlessMean: Float32Array.from(harmlessMean),
      direction,
      ...(gateDirection ? { gateDirection } : {}),
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

/**
 * Adds one prompt's gate scores, at every layer of `layers`, to `out` (activation: nLayers x nEmbd,
 * pooled as the gate pools).
 */
export function addLayerScores(out: LayerScores, layers: readonly LayerVectors[], rows: Float32Array): void {
  for (const kind of SCORE_KINDS) {
    for (const lv of layers) {
      const nEmbd = lv.direction.length;
      out[kind][lv.layer]!.push(score(kind, rows.subarray(lv.layer * nEmbd, (lv.layer + 1) * nEmbd), lv.gateDirection ?? lv.direction));
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
 * validation prompts, then the fewest harmless validation prompts, then the best ROC AUC, then
 * accuracy: the gate users get is the budget threshold, and AUC alone ties at 1.0 on many layers of
 * an instruction-tuned model while their open rates at the budget differ widely. Open rates on a
 * hundred validation prompts tie often; of two blocks that open as many harmful prompts, the one
 * that keeps more harmless prompts closed is the better gate by the budget's own measure (on the
 * abliterated twin, blocks 16 and 21 both opened 86 of 95 and AUC, 0.985 against 0.986, chose block
 * 21, which opened 4 of 107 harmless prompts to block 16's 3). Without a validation split:
 * calibration accuracy.
 * Steered layers: the contiguous run around it where harmful intent is detected well (method.md):
 * with validation, a validation ROC AUC within 0.08 of the gate layer's; without, a calibration
 * accuracy within 0.05. AUC because it is threshold-free: an accuracy at the budget threshold
 * rests on the tail of the harmless scores, and on Qwen2.5-Coder activations that differed by 4e-4
 * (another decode layout) moved one block's from 0.895 to 0.839 and cut the run from 12-23 to
 * 17-23, while no AUC moved by 1e-3. A gate that pools several tokens
 * (`gatePoolTokens` > 1) cannot read the last block (llama.cpp keeps only its last row), so that
 * block is no gate candidate then.
 */
export function suggestLayers(layers: readonly LayerVectors[], gatePoolTokens = 1): { gateLayer: number; steerLayers: [number, number] } {
  const quality = (lv: LayerVectors): number[] =>
    lv.validation
      ? [lv.validation.cosine.openHarmful, -lv.validation.cosine.openHarmless, lv.validation.cosine.auc, lv.validation.cosine.accuracy]
      : [lv.thresholds.cosine.calibrationAccuracy];
  const better = (a: number[], b: number[]): boolean => {
    for (let i = 0; i < a.length; i++) {
      if (a[i]! > b[i]! + 1e-12) return true;
      if (a[i]! < b[i]! - 1e-12) return false;
    }
    return false;
  };
  const candidates = gatePoolTokens > 1 && layers.length > 1 ? layers.slice(0, -1) : layers;
  let gate = candidates[0]!;
  for (const lv of candidates) if (better(quality(lv), quality(gate))) gate = lv;
  const separation = (lv: LayerVectors) => (lv.validation ? lv.validation.cosine.auc : lv.thresholds.cosine.calibrationAccuracy);
  const floor = separation(gate) - (gate.validation ? 0.08 : 0.05);
  let from = gate.layer;
  let to = gate.layer;
  while (from - 1 >= 0 && separation(layers[from - 1]!) >= floor) from--;
  while (to + 1 < layers.length && separation(layers[to + 1]!) >= floor) to++;
  return { gateLayer: gate.layer, steerLayers: [from, to] };
}
