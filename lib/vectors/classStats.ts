// Running statistics of one prompt class (harmful or harmless) over its captured activations, and
// the direction between two classes (method.md, "Objects": v_l = mean harmful - mean harmless,
// s_l = v_l / |v_l|). Pure functions: an activation is one prompt's rows, nLayers x nEmbd floats,
// layer by layer. Sums are float64, so memory does not grow with the number of prompts beyond the
// bounded sample of activations kept for the calibration scores.
import { norm } from "./stats.js";

export interface ClassAccumulator {
  readonly nLayers: number;
  readonly nEmbd: number;
  /** Per layer, the sum of the activations (n_embd each). */
  readonly sums: Float64Array[];
  /** Per layer, the sum of the activations' norms. */
  readonly normSums: Float64Array;
  /** Activations added. */
  count: number;
  /** A uniform sample of at most `sampleLimit` activations (reservoir sampling). */
  readonly kept: Float32Array[];
  readonly sampleLimit: number;
  /** Uniform in [0, 1); decides which activations the sample keeps. */
  readonly random: () => number;
}

/** `random` may be shared by several accumulators: the sample then depends on the order they are fed. */
export function newClassAccumulator(nLayers: number, nEmbd: number, sampleLimit: number, random: () => number): ClassAccumulator {
  return {
    nLayers,
    nEmbd,
    sums: Array.from({ length: nLayers }, () => new Float64Array(nEmbd)),
    normSums: new Float64Array(nLayers),
    count: 0,
    kept: [],
    sampleLimit,
    random,
  };
}

/**
 * Adds one prompt's activation (nLayers x nEmbd): to the sums, to the norm sums, and to the sample
 * (algorithm R: the n-th activation replaces a random kept one with probability limit / n). The
 * sample holds copies, so `rows` may be a view of a buffer that is reused.
 */
export function addActivation(acc: ClassAccumulator, rows: Float32Array): void {
  const { nLayers, nEmbd } = acc;
  for (let l = 0; l < nLayers; l++) {
    const sum = acc.sums[l]!;
    let sq = 0;
    for (let i = 0; i < nEmbd; i++) {
      const x = rows[l * nEmbd + i]!;
      sum[i] = sum[i]! + x;
      sq += x * x;
    }
    acc.normSums[l] = acc.normSums[l]! + Math.sqrt(sq);
  }
  acc.count++;
  if (acc.kept.length < acc.sampleLimit) acc.kept.push(rows.slice());
  else {
    const j = Math.floor(acc.random() * acc.count);
    if (j < acc.sampleLimit) acc.kept[j] = rows.slice();
  }
}

/** Deterministic generator for the sample (xorshift32), so that the same inputs give the same file. */
export function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

/** The class mean at one layer, in float64. */
export function classMean(acc: ClassAccumulator, layer: number): Float64Array {
  const sum = acc.sums[layer]!;
  const mean = new Float64Array(acc.nEmbd);
  for (let i = 0; i < mean.length; i++) mean[i] = sum[i]! / acc.count;
  return mean;
}

/**
 * v = a - b and its unit direction s = v / |v| (in float64, stored as float32). `norm` is |v|: 0
 * when the means are equal, NaN or infinite when they are not finite; the direction is then
 * meaningless and the caller refuses it.
 */
export function unitDifference(a: ArrayLike<number>, b: ArrayLike<number>): { direction: Float32Array; norm: number } {
  const v = new Float64Array(a.length);
  for (let i = 0; i < v.length; i++) v[i] = a[i]! - b[i]!;
  const n = norm(v);
  const direction = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) direction[i] = v[i]! / n;
  return { direction, norm: n };
}

/** Mean |a_l| over the prompts of all the classes (the scale for a relative alpha). */
export function meanActivationNorm(classes: readonly ClassAccumulator[], layer: number): number {
  let sum = 0;
  let count = 0;
  for (const acc of classes) {
    sum += acc.normSums[layer]!;
    count += acc.count;
  }
  return sum / count;
}

/** One layer's rows of each kept activation. */
export function keptAtLayer(acc: ClassAccumulator, layer: number): Float32Array[] {
  return acc.kept.map((rows) => rows.subarray(layer * acc.nEmbd, (layer + 1) * acc.nEmbd));
}
