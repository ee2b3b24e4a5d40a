// The maths under extraction and the benchmark, without a model: running class sums and the
// sample, directions, thresholds for a false-open budget, accuracy, ROC AUC, validation metrics,
// layer suggestion, and the benchmark's medians, intervals and paired ratios. Expected values are
// worked out by hand (in the comments) or by a naive computation written here (an oracle), never
// by the code under test.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  addActivation,
  classMean,
  keptAtLayer,
  meanActivationNorm,
  newClassAccumulator,
  unitDifference,
  xorshift32,
  type ClassAccumulator,
} from "../lib/vectors/classStats.js";
import { addLayerScores, applyValidation, fitLayers, newLayerScores, suggestLayers } from "../lib/vectors/layers.js";
import { fitLogistic, logisticScore, probeDirection } from "../lib/vectors/probe.js";
import type { LayerVectors, ThresholdInfo, ValidationInfo } from "../lib/vectors/safetyVectors.js";
import {
  accuracyAt,
  bestThreshold,
  calibrationThresholds,
  midpointThreshold,
  openShare,
  rocAuc,
  score,
  thresholdForFalseOpenBudget,
  validationMetrics,
} from "../lib/vectors/stats.js";
import { llamaBenchRates } from "../lib/bench/runBench.js";
import {
  benchRow,
  collectSamples,
  median,
  medianWithInterval,
  pairedRatios,
  repetitionOrder,
  summarize,
  tokensPerSecond,
  type BenchConfig,
  type Sample,
} from "../lib/bench/samples.js";
import { SCORE_KINDS } from "../lib/vocabulary.js";
import { mulberry32 } from "./helpers/tinyModel.js"; // seeded test data, independent of the code under test

const maths = suite("maths");

// ---- naive oracles ----

const close = (a: number, b: number, tolerance: number, what = "") =>
  assert.ok(Math.abs(a - b) <= tolerance * Math.max(1, Math.abs(b)), `${what} ${a} vs ${b}`);
/** Scores on a coarse grid, so that ties between and within classes happen. */
const coarse = (random: () => number, n: number) => Array.from({ length: n }, () => Math.round(random() * 8) / 4 - 1);
const naiveCosine = (a: ArrayLike<number>, s: ArrayLike<number>) => {
  const xs = Array.from(a);
  const dot = xs.reduce((acc, x, i) => acc + x * s[i]!, 0);
  const n = Math.hypot(...xs);
  return n === 0 ? 0 : dot / n;
};
const naiveProjection = (a: ArrayLike<number>, s: ArrayLike<number>) => Array.from(a).reduce((acc, x, i) => acc + x * s[i]!, 0);
const naiveScore = (kind: string, a: ArrayLike<number>, s: ArrayLike<number>) => (kind === "cosine" ? naiveCosine(a, s) : naiveProjection(a, s));
/** P(harmful > harmless) over all pairs, ties one half. */
function naiveAuc(harmful: number[], harmless: number[]): number {
  let wins = 0;
  for (const h of harmful) for (const b of harmless) wins += h > b ? 1 : h === b ? 0.5 : 0;
  return wins / (harmful.length * harmless.length);
}
/** The lowest threshold (a score, or -Infinity) at which at most `share` of the scores are above it. */
function naiveBudgetThreshold(scores: number[], share: number): number {
  const candidates = [-Infinity, ...new Set(scores)].sort((a, b) => a - b);
  return candidates.find((t) => scores.filter((x) => x > t).length <= share * scores.length)!;
}
function naiveBalancedAccuracy(harmful: number[], harmless: number[], t: number): number {
  return (harmful.filter((x) => x > t).length / harmful.length + harmless.filter((x) => x <= t).length / harmless.length) / 2;
}
const naiveAccuracy = (harmful: number[], harmless: number[], t: number) =>
  (harmful.filter((x) => x > t).length + harmless.filter((x) => x <= t).length) / (harmful.length + harmless.length);
/** Activations of a class: nLayers x nEmbd floats each, centred on `offset`. */
function activations(random: () => number, count: number, nLayers: number, nEmbd: number, offset: number): Float32Array[] {
  return Array.from({ length: count }, () => Float32Array.from({ length: nLayers * nEmbd }, (_, i) => offset * ((i % 3) - 1) + random() * 2 - 1));
}
function accumulate(rows: Float32Array[], nLayers: number, nEmbd: number, limit: number, random = xorshift32(1)): ClassAccumulator {
  const acc = newClassAccumulator(nLayers, nEmbd, limit, random);
  for (const r of rows) addActivation(acc, r);
  return acc;
}
const layerRow = (a: Float32Array, l: number, nEmbd: number) => a.subarray(l * nEmbd, (l + 1) * nEmbd);
function naiveMean(rows: Float32Array[], l: number, nEmbd: number): number[] {
  return Array.from({ length: nEmbd }, (_, i) => rows.map((r) => layerRow(r, l, nEmbd)[i]!).reduce((a, b) => a + b, 0) / rows.length);
}

// ---- class statistics ----

maths("xorshift32: the published xorshift32 sequence (13, 17, 5), checked against BigInt arithmetic", () => {
  // By hand, seed 1: x = 1 ^ (1 << 13) = 8193; 8193 >> 17 = 0; 8193 ^ (8193 << 5) = 8193 ^ 262176 = 270369.
  assert.is(xorshift32(1)(), 270369 / 2 ** 32);
  const mask = (1n << 32n) - 1n;
  for (const seed of [1, 0x5eed, 0xffffffff, 123456789]) {
    const random = xorshift32(seed);
    let x = BigInt(seed);
    for (let i = 0; i < 1000; i++) {
      x ^= (x << 13n) & mask;
      x ^= x >> 17n;
      x ^= (x << 5n) & mask;
      assert.is(random(), Number(x) / 2 ** 32, `seed ${seed} step ${i}`);
    }
  }
  assert.is(xorshift32(0)(), xorshift32(1)(), "seed 0 (a fixed point) is replaced by 1");
});

maths("class sums: means, norm sums and the mean activation norm (by hand, then against naive sums)", () => {
  // 2 layers x 2 floats. Layer 0 rows [3,4] and [1,2]: mean [2,3], norms 5 and sqrt(5).
  // Layer 1 rows [1,0] and [0,1]: mean [0.5,0.5], norms 1 and 1.
  const acc = accumulate([Float32Array.of(3, 4, 1, 0), Float32Array.of(1, 2, 0, 1)], 2, 2, 10);
  assert.is(acc.count, 2);
  assert.equal(Array.from(classMean(acc, 0)), [2, 3]);
  assert.equal(Array.from(classMean(acc, 1)), [0.5, 0.5]);
  assert.equal(Array.from(acc.normSums), [5 + Math.sqrt(5), 2]);
  // Another class, one row of norm 10 at layer 0 ([6,8]) and 0 at layer 1: (5 + sqrt 5 + 10) / 3 and 2 / 3.
  const other = accumulate([Float32Array.of(6, 8, 0, 0)], 2, 2, 10);
  close(meanActivationNorm([acc, other], 0), (15 + Math.sqrt(5)) / 3, 1e-15);
  close(meanActivationNorm([acc, other], 1), 2 / 3, 1e-15);

  const random = mulberry32(7);
  const [L, E] = [3, 17];
  const rows = activations(random, 41, L, E, 0.5);
  const big = accumulate(rows, L, E, 1000);
  for (let l = 0; l < L; l++) {
    const expected = naiveMean(rows, l, E);
    classMean(big, l).forEach((m, i) => close(m, expected[i]!, 1e-12, `layer ${l} [${i}]`));
    const norms = rows.map((r) => Math.hypot(...layerRow(r, l, E)));
    close(meanActivationNorm([big], l), norms.reduce((a, b) => a + b, 0) / norms.length, 1e-12);
  }
});

maths("class sample: every activation while under the limit, then algorithm R (uniform, copies, deterministic)", () => {
  const rows = Array.from({ length: 5 }, (_, i) => Float32Array.of(i, -i));
  const all = accumulate(rows, 1, 2, 5);
  assert.equal(
    all.kept.map((r) => r[0]),
    [0, 1, 2, 3, 4],
  );
  rows[0]![0] = 99;
  assert.is(all.kept[0]![0], 0, "the sample holds copies");
  rows[0]![0] = 0;
  // With random() = 0 the n-th activation (n > limit) always replaces kept[0]: limit 2, items 0..4 -> [4, 1].
  assert.equal(
    accumulate(rows, 1, 2, 2, () => 0).kept.map((r) => r[0]),
    [4, 1],
  );
  // With random() just under 1, j = n - 1 >= limit: nothing is replaced.
  assert.equal(
    accumulate(rows, 1, 2, 2, () => 1 - 2 ** -40).kept.map((r) => r[0]),
    [0, 1],
  );
  // Uniform: each of 10 items is kept with probability 3/10 (4000 trials: sd 0.007, tolerance 4 sd).
  const random = xorshift32(12345);
  const counts = new Array<number>(10).fill(0);
  const ten = Array.from({ length: 10 }, (_, i) => Float32Array.of(i));
  const trials = 4000;
  for (let t = 0; t < trials; t++) {
    const kept = accumulate(ten, 1, 1, 3, random).kept.map((r) => r[0]!);
    assert.is(new Set(kept).size, 3);
    for (const k of kept) counts[k]!++;
  }
  for (const c of counts) assert.ok(Math.abs(c / trials - 0.3) < 0.03, `inclusion ${c / trials}`);
  // Layer views of the sample
  const acc = accumulate([Float32Array.of(1, 2, 3, 4, 5, 6)], 3, 2, 4);
  assert.equal(
    keptAtLayer(acc, 1).map((r) => Array.from(r)),
    [[3, 4]],
  );
});

maths("direction: v = a - b and v / |v| (3-4-5 by hand, then against Math.hypot); equal or non-finite means give no norm", () => {
  const d = unitDifference([4, 6], [1, 2]); // v = [3, 4], |v| = 5
  assert.is(d.norm, 5);
  assert.equal(Array.from(d.direction), [Math.fround(0.6), Math.fround(0.8)]);
  assert.instance(d.direction, Float32Array);
  assert.is(unitDifference([1, 2], [1, 2]).norm, 0);
  assert.ok(Number.isNaN(unitDifference([NaN, 1], [0, 0]).norm));
  assert.is(unitDifference([Infinity, 1], [0, 0]).norm, Infinity);
  const random = mulberry32(3);
  const a = Array.from({ length: 33 }, () => random() * 4 - 2);
  const b = Array.from({ length: 33 }, () => random() * 4 - 2);
  const v = a.map((x, i) => x - b[i]!);
  const n = Math.hypot(...v);
  const r = unitDifference(a, b);
  close(r.norm, n, 1e-14);
  r.direction.forEach((x, i) => close(x, v[i]! / n, 1e-7));
});

// ---- scores and thresholds ----

maths("score, accuracy, midpoint, open share (by hand)", () => {
  assert.is(score("projection", [3, 4], [1, 0]), 3);
  assert.is(score("cosine", [3, 4], [1, 0]), 0.6);
  assert.is(score("cosine", [0, 0], [1, 0]), 0, "a zero activation scores 0");
  // threshold 1: harmful 2 and 3 open, 1 does not; harmless 0 and 1 stay closed, 2 opens: 4 of 6
  assert.is(accuracyAt([1, 2, 3], [0, 1, 2], 1), 4 / 6);
  assert.is(midpointThreshold([1, 2, 3], [0, 1, 2]), 1.5); // means 2 and 1
  assert.is(openShare([1, 2, 3, 4], 2), 0.5); // 3 and 4 are above 2; 2 itself stays closed
  assert.is(openShare([1, 2], 5), 0);
});

maths("thresholdForFalseOpenBudget: the lowest threshold keeping the budget (by hand, then against a naive search)", () => {
  // 5 scores, share 0.4: 2 may open, so 3 (5 and 4 open); share 0: the highest; share 1: all open.
  assert.is(thresholdForFalseOpenBudget([1, 5, 3, 2, 4], 0.4), 3);
  assert.is(thresholdForFalseOpenBudget([1, 5, 3, 2, 4], 0), 5);
  assert.is(thresholdForFalseOpenBudget([1, 5, 3, 2, 4], 1), -Infinity);
  // ties: [2,2,2,1] with share 0.5 (2 may open): at 1 three open, so 2
  assert.is(thresholdForFalseOpenBudget([2, 2, 2, 1], 0.5), 2);
  assert.throws(() => thresholdForFalseOpenBudget([], 0.1), RangeError);
  assert.throws(() => thresholdForFalseOpenBudget([1], 1.5), RangeError);
  const random = mulberry32(11);
  for (let trial = 0; trial < 300; trial++) {
    const scores = coarse(random, 1 + Math.floor(random() * 40));
    const share = [0, 0.03, 0.1, 0.25, 0.34, 0.5, 0.99][trial % 7]!;
    assert.is(thresholdForFalseOpenBudget(scores, share), naiveBudgetThreshold(scores, share), `${scores} at ${share}`);
  }
});

maths("bestThreshold: the best balanced accuracy (naive search over every cut), the middle of the widest gap on ties", () => {
  // harmful [10, 3], harmless [1, 9]: cuts 1-1e-6, 2, 6, 9.5 score 0.5, 0.75, 0.5, 0.75; the tie goes
  // to 2, whose neighbouring cuts are 6 apart (9.5's are 3.5 apart).
  assert.equal(bestThreshold([10, 3], [1, 9]), { threshold: 2, balancedAccuracy: 0.75 });
  assert.equal(bestThreshold([5, 6], [1, 2]), { threshold: 3.5, balancedAccuracy: 1 });
  const random = mulberry32(5);
  for (let trial = 0; trial < 300; trial++) {
    const harmful = coarse(random, 1 + Math.floor(random() * 12)).map((x) => x + 0.5);
    const harmless = coarse(random, 1 + Math.floor(random() * 30));
    const all = [...new Set([...harmful, ...harmless])].sort((a, b) => a - b);
    const cuts = [all[0]! - 1, ...all.slice(1).map((x, i) => (x + all[i]!) / 2), all.at(-1)! + 1];
    const optimum = Math.max(...cuts.map((t) => naiveBalancedAccuracy(harmful, harmless, t)));
    const r = bestThreshold(harmful, harmless);
    close(r.balancedAccuracy, optimum, 1e-12);
    close(naiveBalancedAccuracy(harmful, harmless, r.threshold), optimum, 1e-12);
  }
});

maths("rocAuc: P(harmful > harmless), ties one half (by hand, then against all pairs)", () => {
  // pairs (3,1) (3,2) (2,1) win, (2,2) ties: 3.5 / 4
  assert.is(rocAuc([3, 2], [1, 2]), 0.875);
  assert.is(rocAuc([1], [2]), 0);
  assert.is(rocAuc([1, 1], [1]), 0.5);
  const random = mulberry32(9);
  for (let trial = 0; trial < 300; trial++) {
    const harmful = coarse(random, 1 + Math.floor(random() * 20));
    const harmless = coarse(random, 1 + Math.floor(random() * 20));
    close(rocAuc(harmful, harmless), naiveAuc(harmful, harmless), 1e-12);
  }
});

maths("calibrationThresholds and validationMetrics (by hand)", () => {
  // harmful [3, 4], harmless [1, 2]: means 3.5 and 1.5, midpoint 2.5; the only perfect cut is 2.5;
  // budget 0: no harmless prompt may open, so the highest harmless score, 2.
  assert.equal(calibrationThresholds([3, 4], [1, 2], 0), { midpoint: 2.5, best: 2.5, calibrationAccuracy: 1, budget: 2 } satisfies ThresholdInfo);
  // Validation harmful [3, 0.5], harmless [1, 2.5], calibration harmless [1, 2], best 2.5, budget 0.25:
  // 4 harmless scores [2.5, 2, 1, 1], 1 may open, so 2. Accuracy at 2.5: 3 opens, 0.5 does not, 1 and 2.5
  // stay closed: 3/4. AUC: 3 beats both, 0.5 neither: 2/4. At 2: harmful 3 opens (1/2), harmless 2.5 (1/2).
  assert.equal(validationMetrics([3, 0.5], [1, 2.5], [1, 2], 2.5, 0.25), {
    budget: 2,
    validation: { accuracy: 0.75, auc: 0.5, openHarmful: 0.5, openHarmless: 0.5 } satisfies ValidationInfo,
  });
});

// ---- layers ----

maths("fitLayers and applyValidation: means, directions, scores, thresholds and validation of every layer, against naive computation", () => {
  const random = mulberry32(21);
  const [L, E] = [3, 6];
  const harmfulRows = activations(random, 9, L, E, 1);
  const harmlessRows = activations(random, 12, L, E, -0.5);
  const limit = 7; // fewer than the harmless prompts: their scores come from the sample
  const shared = xorshift32(0x5eed);
  const harmful = accumulate(harmfulRows, L, E, limit, shared);
  const harmless = accumulate(harmlessRows, L, E, limit, shared);
  const budget = 0.2;
  const { layers, calibrationScores } = fitLayers(harmful, harmless, budget);
  assert.is(layers.length, L);
  for (let l = 0; l < L; l++) {
    const lv = layers[l]!;
    const h = naiveMean(harmfulRows, l, E);
    const b = naiveMean(harmlessRows, l, E);
    const v = h.map((x, i) => x - b[i]!);
    const n = Math.hypot(...v);
    assert.is(lv.layer, l);
    lv.harmfulMean.forEach((x, i) => close(x, h[i]!, 1e-6));
    lv.harmlessMean.forEach((x, i) => close(x, b[i]!, 1e-6));
    close(lv.norm, n, 1e-12);
    lv.direction.forEach((x, i) => close(x, v[i]! / n, 1e-6));
    const norms = [...harmfulRows, ...harmlessRows].map((r) => Math.hypot(...layerRow(r, l, E)));
    close(lv.meanActivationNorm, norms.reduce((a, c) => a + c, 0) / norms.length, 1e-12);
    for (const kind of SCORE_KINDS) {
      const hs = harmful.kept.map((r) => naiveScore(kind, layerRow(r, l, E), lv.direction));
      const bs = harmless.kept.map((r) => naiveScore(kind, layerRow(r, l, E), lv.direction));
      assert.is(bs.length, limit);
      calibrationScores[kind][l]!.harmful.forEach((x, i) => close(x, hs[i]!, 1e-9));
      calibrationScores[kind][l]!.harmless.forEach((x, i) => close(x, bs[i]!, 1e-9));
      const t = lv.thresholds[kind];
      close(t.midpoint, (hs.reduce((a, c) => a + c, 0) / hs.length + bs.reduce((a, c) => a + c, 0) / bs.length) / 2, 1e-9);
      close(t.budget, naiveBudgetThreshold(calibrationScores[kind][l]!.harmless, budget), 0);
      close(t.calibrationAccuracy, naiveAccuracy(hs, bs, t.best), 1e-12);
    }
  }
  // Validation: scores of held-out activations, the budget over calibration and validation harmless scores.
  const valHarmfulRows = activations(random, 5, L, E, 0.8);
  const valHarmlessRows = activations(random, 8, L, E, -0.3);
  const vh = newLayerScores(L);
  const vb = newLayerScores(L);
  for (const r of valHarmfulRows) addLayerScores(vh, layers, r);
  for (const r of valHarmlessRows) addLayerScores(vb, layers, r);
  const calibrationBest = layers.map((lv) => SCORE_KINDS.map((kind) => lv.thresholds[kind].best));
  applyValidation(layers, calibrationScores, vh, vb, budget);
  for (const lv of layers) {
    for (const kind of SCORE_KINDS) {
      const hs = valHarmfulRows.map((r) => naiveScore(kind, layerRow(r, lv.layer, E), lv.direction));
      const bs = valHarmlessRows.map((r) => naiveScore(kind, layerRow(r, lv.layer, E), lv.direction));
      vh[kind][lv.layer]!.forEach((x, i) => close(x, hs[i]!, 1e-9));
      const t = naiveBudgetThreshold([...calibrationScores[kind][lv.layer]!.harmless, ...vb[kind][lv.layer]!], budget);
      assert.is(lv.thresholds[kind].budget, t);
      assert.is(lv.thresholds[kind].best, calibrationBest[lv.layer]![SCORE_KINDS.indexOf(kind)], "best stays the calibration's");
      const val = lv.validation![kind];
      close(val.accuracy, naiveAccuracy(hs, bs, lv.thresholds[kind].best), 1e-9);
      close(val.auc, naiveAuc(vh[kind][lv.layer]!, vb[kind][lv.layer]!), 1e-12);
      close(val.openHarmful, hs.filter((x) => x > t).length / hs.length, 1e-9);
      close(val.openHarmless, vb[kind][lv.layer]!.filter((x) => x > t).length / bs.length, 1e-12);
    }
  }
});

maths("fitLayers: equal class means at a layer are refused with the layer named", () => {
  const rows = [Float32Array.of(1, 2, 3, 4), Float32Array.of(2, 1, 4, 3)];
  const err = (() => {
    try {
      fitLayers(accumulate(rows, 2, 2, 4), accumulate([...rows].reverse(), 2, 2, 4), 0.03);
    } catch (e) {
      return e as { code?: string; message: string };
    }
    return null;
  })();
  assert.is(err?.code, "ERR_INVALID_ARGUMENT");
  assert.match(err!.message, /^layer 0: the class means are equal/);
});

maths(
  "suggestLayers: gate by open rate at the budget, then fewest harmless opens, then AUC, then accuracy; steered run within 0.08 of the gate's validation AUC, or 0.05 of its calibration accuracy (by hand)",
  () => {
    const info = (calibrationAccuracy: number): Record<"cosine" | "projection", ThresholdInfo> => {
      const t = { midpoint: 0, best: 0, calibrationAccuracy, budget: 0 };
      return { cosine: t, projection: t };
    };
    const layer = (l: number, accuracy: number, validation?: Partial<ValidationInfo>): LayerVectors => ({
      layer: l,
      harmfulMean: new Float32Array(1),
      harmlessMean: new Float32Array(1),
      direction: Float32Array.of(1),
      norm: 1,
      meanActivationNorm: 1,
      thresholds: info(accuracy),
      ...(validation
        ? {
            validation: {
              cosine: { accuracy, auc: 0, openHarmful: 0, openHarmless: 0, ...validation },
              projection: { accuracy, auc: 0, openHarmful: 0, openHarmless: 0 },
            },
          }
        : {}),
    });
    // Calibration accuracy only: best is layer 3 (0.95); floor 0.90: layer 2 (0.88) and 4 (0.70) fall out.
    assert.equal(suggestLayers([0.6, 0.9, 0.88, 0.95, 0.7].map((a, l) => layer(l, a))), { gateLayer: 3, steerLayers: [3, 3] });
    // floor 0.90: layers 1 (0.93), 2 (0.91), 4 (0.92) stay; layer 0 (0.6) ends the run.
    assert.equal(suggestLayers([0.6, 0.93, 0.91, 0.95, 0.92].map((a, l) => layer(l, a))), { gateLayer: 3, steerLayers: [1, 4] });
    // A tie keeps the first layer.
    assert.equal(suggestLayers([0.9, 0.9].map((a, l) => layer(l, a))).gateLayer, 0);
    // Validation: open rate first (layer 1 opens 0.8 though layer 2 has the better AUC), then AUC.
    const withValidation = [
      layer(0, 0.9, { openHarmful: 0.5, auc: 1 }),
      layer(1, 0.9, { openHarmful: 0.8, auc: 0.9 }),
      layer(2, 0.9, { openHarmful: 0.7, auc: 1 }),
    ];
    assert.is(suggestLayers(withValidation).gateLayer, 1);
    const tiedOpen = [layer(0, 0.9, { openHarmful: 0.8, auc: 0.9 }), layer(1, 0.85, { openHarmful: 0.8, auc: 0.95 })];
    assert.equal(suggestLayers(tiedOpen), { gateLayer: 1, steerLayers: [0, 1] });
    // Tied on harmful opens: fewer harmless opens first, before AUC.
    const tiedHarmful = [
      layer(0, 0.9, { openHarmful: 0.9, openHarmless: 0.028, auc: 0.985 }),
      layer(1, 0.9, { openHarmful: 0.9, openHarmless: 0.037, auc: 0.986 }),
    ];
    assert.is(suggestLayers(tiedHarmful).gateLayer, 0);
    // The steered run follows AUC, not accuracy: gate layer 3 (AUC 0.98), floor 0.90. Layer 2's
    // accuracy dips (0.6) but its AUC (0.93) keeps it; layer 1 (AUC 0.91) stays, layer 0 (0.89) ends
    // the run; layer 4 (AUC 0.899) falls out though its accuracy is the best.
    const aucRun = [
      layer(0, 0.9, { openHarmful: 0.1, auc: 0.89 }),
      layer(1, 0.9, { openHarmful: 0.2, auc: 0.91 }),
      layer(2, 0.6, { openHarmful: 0.3, auc: 0.93 }),
      layer(3, 0.9, { openHarmful: 0.9, auc: 0.98 }),
      layer(4, 0.99, { openHarmful: 0.5, auc: 0.899 }),
    ];
    assert.equal(suggestLayers(aucRun), { gateLayer: 3, steerLayers: [1, 3] });
  },
);

// ---- benchmark ----

maths("bench: median, summary, paired ratios and a row against its baseline (by hand)", () => {
  assert.is(median([3, 1, 2]), 2);
  assert.is(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
  assert.equal(summarize([5, 1, 3]), { median: 3, min: 1, max: 5 });
  const samples: Sample[] = [
    { pp: 10, tg: 5 },
    { pp: 12, tg: 6 },
  ];
  const base: Sample[] = [
    { pp: 5, tg: 5 },
    { pp: 4, tg: 3 },
  ];
  assert.equal(pairedRatios(samples, base, "pp"), [2, 3]);
  // pp: medians 11 and 4.5; paired [2, 3]. tg: medians 5.5 and 4; paired [1, 2].
  assert.equal(benchRow("x", "plain", samples, base), {
    name: "x",
    baseline: "plain",
    pp: { median: 11, min: 10, max: 12 },
    tg: { median: 5.5, min: 5, max: 6 },
    ppRatio: 11 / 4.5,
    tgRatio: 5.5 / 4,
    pairedPp: { median: 2.5, low: 2, high: 3, n: 2 },
    pairedTg: { median: 1.5, low: 1, high: 2, n: 2 },
  });
  const self = benchRow("plain", "plain", base, base);
  assert.is(self.ppRatio, 1);
  assert.equal(self.pairedTg, { median: 1, low: 1, high: 1, n: 2 });
  assert.is(tokensPerSecond(128, 256), 500);
  // llama-bench's JSON: the pp-only and the tg-only test
  assert.equal(
    llamaBenchRates([
      { n_prompt: 0, n_gen: 64, avg_ts: 50 },
      { n_prompt: 100, n_gen: 0, avg_ts: 500 },
    ]),
    { pp: 500, tg: 50 },
  );
  const missing = llamaBenchRates([{ n_prompt: 100, n_gen: 64, avg_ts: 1 }]);
  assert.ok(Number.isNaN(missing.pp) && Number.isNaN(missing.tg));
});

maths("medianWithInterval: the sign-test interval of the median, checked against binomial tables and exact binomial sums", () => {
  const xs = (n: number) => Array.from({ length: n }, (_, i) => n - i); // unsorted on purpose
  // n = 5: no symmetric rank pair reaches 95% coverage except the extremes (1 - 2/32 = 93.75%).
  assert.equal(medianWithInterval(xs(5)), { median: 3, low: 1, high: 5, n: 5 });
  // n = 9: ranks 2 and 8 (coverage 1 - 2*10/512 = 96.1%); ranks 3 and 7 would be 82%.
  assert.equal(medianWithInterval(xs(9)), { median: 5, low: 2, high: 8, n: 9 });
  // n = 21: ranks 6 and 16 (coverage 97.3%); ranks 7 and 15 would be 92.2%.
  assert.equal(medianWithInterval(xs(21)), { median: 11, low: 6, high: 16, n: 21 });
  assert.equal(medianWithInterval([2, 1]), { median: 1.5, low: 1, high: 2, n: 2 });
  assert.equal(medianWithInterval([7]), { median: 7, low: 7, high: 7, n: 1 });
  assert.ok(Number.isNaN(medianWithInterval([]).median));
  // Exact: ranks [r, n+1-r] (1-based) cover the median with probability 1 - 2 P(X <= r-1), X ~ Bin(n, 1/2);
  // the widest pair with coverage >= 95% (2 * 20 * sum C(n, i) <= 2^n), the extremes when none has it.
  for (let n = 1; n <= 80; n++) {
    const choose = (k: number) => {
      let c = 1n;
      for (let i = 1; i <= k; i++) c = (c * BigInt(n - k + i)) / BigInt(i);
      return c;
    };
    let r = 1;
    let tail = choose(0);
    while (r + 1 < n + 1 - (r + 1) && 40n * (tail + choose(r)) <= 1n << BigInt(n)) tail += choose(r++);
    const got = medianWithInterval(xs(n));
    assert.equal([got.low, got.high], [r, n + 1 - r], `n = ${n}`);
  }
});

maths("bench schedule: a warm-up of each, then repetitions alternating A B C / C B A; samples by name", async () => {
  assert.equal(repetitionOrder(["a", "b", "c"], 0), ["a", "b", "c"]);
  assert.equal(repetitionOrder(["a", "b", "c"], 1), ["c", "b", "a"]);
  const calls: string[] = [];
  const config = (name: string): BenchConfig => ({ name, baseline: "a", run: async () => ({ pp: calls.push(name), tg: 0 }) });
  const lines: string[] = [];
  const samples = await collectSamples([config("a"), config("b"), config("c")], 3, (line) => lines.push(line));
  assert.equal(calls.join(""), "abc" + "abc" + "cba" + "abc");
  // pp is the call's position (1-based): a ran 4th, 9th and 10th.
  assert.equal(
    samples.get("a")!.map((s) => s.pp),
    [4, 9, 10],
  );
  assert.equal(
    samples.get("c")!.map((s) => s.pp),
    [6, 7, 12],
  );
  assert.equal(lines, ["[bench] repetition 1/3", "[bench] repetition 2/3", "[bench] repetition 3/3"]);
});

maths("gate probe: Newton and Adam reach the same optimum (zero gradient); the gate's cosine with the probe direction ranks as the probe's logit", () => {
  const random = xorshift32(7);
  const gauss = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
  // Two classes in 8 dimensions, separated along a known direction, with noise.
  const d = 8;
  const truth = Array.from({ length: d }, (_, i) => (i === 2 ? 3 : i === 5 ? -1 : 0));
  const sample = (label: number) =>
    Array.from({ length: d }, (_, i) => gauss() + ((label ? 0.6 : -0.6) * truth[i]!) / Math.hypot(...truth) + (i === 0 ? 4 : 0));
  const x = [...Array.from({ length: 150 }, () => sample(1)), ...Array.from({ length: 150 }, () => sample(0))];
  const y = [...x.slice(0, 150).map(() => 1), ...x.slice(150).map(() => 0)];
  const newton = fitLogistic(x, y, { l2: 0.05 });
  // The Adam path (taken above 64 features): pad to 65 features with constant columns, which a
  // standardised, penalised fit leaves at weight 0.
  const padded = x.map((r) => [...r, ...Array.from({ length: 57 }, () => 1)]);
  const adam = fitLogistic(padded, y, { l2: 0.05, iterations: 3000 });
  for (let i = 0; i < d; i++) assert.ok(Math.abs(newton.weights[i]! - adam.weights[i]!) < 2e-3, `weight ${i}: ${newton.weights[i]} vs ${adam.weights[i]}`);
  assert.ok(Math.abs(newton.bias - adam.bias) < 2e-3);
  // The optimum: the penalised loss's gradient is zero there (checked here, not by the fitter).
  const z = x.map((r) => r.map((v, j) => (v - newton.mean[j]!) / newton.scale[j]!));
  for (let j = 0; j < d; j++) {
    let g = newton.weights[j]! * 0.05;
    z.forEach((r, k) => (g += ((1 / (1 + Math.exp(-logisticScore(newton, x[k]!))) - y[k]!) * r[j]!) / x.length));
    assert.ok(Math.abs(g) < 1e-8, `gradient ${j}: ${g}`);
  }
  // probeDirection: a unit vector whose cosine with a row orders rows as the probe fitted on the
  // unit-normalised rows orders them by logit (what lets the engine's cosine gate run the probe).
  const rows = x.map((r) => Float32Array.from(r));
  const u = probeDirection(rows.slice(0, 150), rows.slice(150), 0.01);
  assert.ok(Math.abs(Math.hypot(...u) - 1) < 1e-6);
  const model = fitLogistic(
    rows.map((r) => Array.from(r, (v) => v / Math.hypot(...r))),
    y,
    { l2: 0.01, iterations: 300 },
  );
  const logits = rows.map((r) =>
    logisticScore(
      model,
      Array.from(r, (v) => v / Math.hypot(...r)),
    ),
  );
  const cosines = rows.map((r) => score("cosine", r, u));
  const order = (v: number[]) => v.map((_, i) => i).sort((a, b) => v[a]! - v[b]!);
  assert.equal(order(cosines), order(logits), "the cosine with the probe's direction ranks prompts as the probe's logit does");
  assert.throws(() => fitLogistic([[1], [2]], [1, 1]), /both classes/);
});

maths.run();
