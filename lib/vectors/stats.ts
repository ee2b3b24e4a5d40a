// Statistics of gate scores: thresholds, accuracy and ROC AUC. Pure functions.

import type { ThresholdInfo, ValidationInfo } from "./safetyVectors.js";
import type { ScoreKind } from "../vocabulary.js";
export type { ScoreKind } from "../vocabulary.js";

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

/** cosine: cos(a, s); projection: a . s (the paper's score, before its bias). `unit` must have norm 1. */
export function score(kind: ScoreKind, activation: ArrayLike<number>, unit: ArrayLike<number>): number {
  const p = dot(activation, unit);
  if (kind === "projection") return p;
  const n = norm(activation);
  return n > 0 ? p / n : 0;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The gate opens when score > threshold. Accuracy over both classes together. */
export function accuracyAt(harmful: readonly number[], harmless: readonly number[], threshold: number): number {
  let correct = 0;
  for (const x of harmful) if (x > threshold) correct++;
  for (const x of harmless) if (x <= threshold) correct++;
  return correct / (harmful.length + harmless.length);
}

function balancedAccuracyAt(harmful: readonly number[], harmless: readonly number[], threshold: number): number {
  let tp = 0;
  let tn = 0;
  for (const x of harmful) if (x > threshold) tp++;
  for (const x of harmless) if (x <= threshold) tn++;
  return (tp / harmful.length + tn / harmless.length) / 2;
}

/** The paper's threshold: midway between the two class means of the score. */
export function midpointThreshold(harmful: readonly number[], harmless: readonly number[]): number {
  return (mean(harmful) + mean(harmless)) / 2;
}

/**
 * The threshold with the best balanced accuracy (so unequal class sizes do not tilt it); among
 * equally good ones, the one in the middle of the widest gap.
 */
export function bestThreshold(harmful: readonly number[], harmless: readonly number[]): { threshold: number; balancedAccuracy: number } {
  const all = [...harmful, ...harmless].sort((a, b) => a - b);
  const candidates = [all[0]! - 1e-6];
  for (let i = 0; i + 1 < all.length; i++) if (all[i + 1]! > all[i]!) candidates.push((all[i]! + all[i + 1]!) / 2);
  let best = { threshold: candidates[0]!, balancedAccuracy: -1, gap: -1 };
  for (let i = 0; i < candidates.length; i++) {
    const t = candidates[i]!;
    const acc = balancedAccuracyAt(harmful, harmless, t);
    const gap = (candidates[i + 1] ?? t) - (candidates[i - 1] ?? t);
    if (acc > best.balancedAccuracy + 1e-12 || (Math.abs(acc - best.balancedAccuracy) <= 1e-12 && gap > best.gap)) {
      best = { threshold: t, balancedAccuracy: acc, gap };
    }
  }
  return { threshold: best.threshold, balancedAccuracy: best.balancedAccuracy };
}

/**
 * The lowest threshold at which at most `share` of the harmless scores open the gate (it opens on
 * score > threshold, so scores equal to the threshold stay closed): the k-th highest harmless
 * score, k = floor(share x n). -Infinity when the budget lets every prompt open.
 */
export function thresholdForFalseOpenBudget(harmless: readonly number[], share: number): number {
  if (!(share >= 0 && share <= 1)) throw new RangeError(`a false-open budget is a share in [0, 1], got ${share}`);
  if (harmless.length === 0) throw new RangeError("a false-open budget needs harmless scores");
  const sorted = [...harmless].sort((a, b) => b - a);
  return sorted[Math.floor(share * sorted.length)] ?? -Infinity;
}

/** Area under the ROC curve: P(harmful score > harmless score), ties counting one half. */
export function rocAuc(harmful: readonly number[], harmless: readonly number[]): number {
  const tagged = [...harmful.map((x) => [x, 1] as const), ...harmless.map((x) => [x, 0] as const)].sort((a, b) => a[0] - b[0]);
  // Mann-Whitney U from average ranks.
  let rankSumHarmful = 0;
  for (let i = 0; i < tagged.length;) {
    let j = i;
    while (j < tagged.length && tagged[j]![0] === tagged[i]![0]) j++;
    const averageRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (tagged[k]![1] === 1) rankSumHarmful += averageRank;
    i = j;
  }
  const n1 = harmful.length;
  const n0 = harmless.length;
  return (rankSumHarmful - (n1 * (n1 + 1)) / 2) / (n1 * n0);
}

/** Share of `scores` that open the gate (score > threshold). */
export function openShare(scores: readonly number[], threshold: number): number {
  return scores.filter((x) => x > threshold).length / scores.length;
}

/** The thresholds of one layer and score kind, from the scores of the calibration prompts. */
export function calibrationThresholds(harmful: readonly number[], harmless: readonly number[], falseOpenBudget: number): ThresholdInfo {
  const best = bestThreshold(harmful, harmless).threshold;
  return {
    midpoint: midpointThreshold(harmful, harmless),
    best,
    calibrationAccuracy: accuracyAt(harmful, harmless, best),
    budget: thresholdForFalseOpenBudget(harmless, falseOpenBudget),
  };
}

/**
 * Held-out metrics of one layer and score kind. The budget threshold is chosen again over the
 * harmless calibration and validation scores together (the budget holds on prompts the direction
 * was not fitted to as well); accuracy is taken at the calibration's `best` threshold, the open
 * shares at the new budget threshold.
 */
export function validationMetrics(
  harmful: readonly number[],
  harmless: readonly number[],
  calibrationHarmless: readonly number[],
  best: number,
  falseOpenBudget: number,
): { budget: number; validation: ValidationInfo } {
  const budget = thresholdForFalseOpenBudget([...calibrationHarmless, ...harmless], falseOpenBudget);
  return {
    budget,
    validation: {
      accuracy: accuracyAt(harmful, harmless, best),
      auc: rocAuc(harmful, harmless),
      openHarmful: openShare(harmful, budget),
      openHarmless: openShare(harmless, budget),
    },
  };
}
