// A linear probe for the gate: L2-regularised logistic regression on standardised features (the
// per-block cosines of a prompt, or one block's activation). Small enough to fit in the process:
// Newton's method for a few dozen features, Adam for hundreds.

export interface LogisticModel {
  /** Per-feature centre and scale applied before the weights. */
  mean: number[];
  scale: number[];
  weights: number[];
  bias: number;
}

export interface LogisticOptions {
  /** L2 penalty on the weights (the loss is the mean log loss + l2/2 |w|^2). */
  l2?: number;
  /** Iterations of the optimiser (Newton: at most this many; Adam: exactly). */
  iterations?: number;
  /** Adam only: start from this fit's weights (in its own standardised units) instead of zero. */
  start?: LogisticModel;
}

/** Fits P(y = 1 | x) = sigmoid(w . standardise(x) + b). Labels are 0 or 1. */
export function fitLogistic(x: readonly (readonly number[])[], y: readonly number[], options: LogisticOptions = {}): LogisticModel {
  const n = x.length;
  if (n === 0 || n !== y.length) throw new RangeError(`a probe needs as many labels as samples (got ${n} and ${y.length})`);
  if (!y.some((v) => v === 1) || !y.some((v) => v === 0)) throw new RangeError("a probe needs samples of both classes");
  const d = x[0]!.length;
  const l2 = options.l2 ?? 1e-2;
  const mean = Array.from({ length: d }, (_, j) => x.reduce((s, r) => s + r[j]!, 0) / n);
  const scale = Array.from({ length: d }, (_, j) => Math.sqrt(x.reduce((s, r) => s + (r[j]! - mean[j]!) ** 2, 0) / n) || 1);
  const z = x.map((r) => Float64Array.from(r, (v, j) => (v - mean[j]!) / scale[j]!));
  // Parameters: w[0..d-1], bias at w[d] (not penalised).
  const start = options.start ? Float64Array.from([...options.start.weights, options.start.bias]) : undefined;
  const w = d <= 64 ? newtonFit(z, y, l2, options.iterations ?? 50) : adamFit(z, y, l2, options.iterations ?? 300, start);
  return { mean, scale, weights: Array.from(w.subarray(0, d)), bias: w[d]! };
}

/** The logit of standardised sample r under parameters w (bias last). */
function logitOf(w: Float64Array, r: Float64Array): number {
  const d = r.length;
  let s = w[d]!;
  for (let j = 0; j < d; j++) s += w[j]! * r[j]!;
  return s;
}

/** Newton's method on the penalised mean log loss (a few dozen features). */
function newtonFit(z: Float64Array[], y: readonly number[], l2: number, iterations: number): Float64Array {
  const n = z.length;
  const d = z[0]!.length;
  const w = new Float64Array(d + 1);
  for (let it = 0; it < iterations; it++) {
    const grad = new Float64Array(d + 1);
    const hess = Array.from({ length: d + 1 }, () => new Float64Array(d + 1));
    for (let k = 0; k < n; k++) {
      const p = 1 / (1 + Math.exp(-logitOf(w, z[k]!)));
      const g = (p - y[k]!) / n;
      const h = (p * (1 - p)) / n;
      const r = z[k]!;
      for (let i = 0; i <= d; i++) {
        const ri = i === d ? 1 : r[i]!;
        grad[i]! += g * ri;
        for (let j = 0; j <= i; j++) hess[i]![j]! += h * ri * (j === d ? 1 : r[j]!);
      }
    }
    for (let i = 0; i < d; i++) {
      grad[i]! += l2 * w[i]!;
      hess[i]![i]! += l2;
    }
    hess[d]![d]! += 1e-9;
    for (let i = 0; i <= d; i++) for (let j = 0; j < i; j++) hess[j]![i] = hess[i]![j]!;
    const step = solveSymmetric(hess, grad);
    let largest = 0;
    for (let i = 0; i <= d; i++) {
      w[i]! -= step[i]!;
      largest = Math.max(largest, Math.abs(step[i]!));
    }
    if (largest < 1e-10) break;
  }
  return w;
}

/** Adam on the penalised mean log loss, full batch (hundreds of features), from `start` if given. */
function adamFit(z: Float64Array[], y: readonly number[], l2: number, iterations: number, start?: Float64Array): Float64Array {
  const n = z.length;
  const d = z[0]!.length;
  // One contiguous matrix: the two passes per iteration are the whole cost.
  const flat = new Float64Array(n * d);
  z.forEach((r, k) => flat.set(r, k * d));
  const w = start ? Float64Array.from(start) : new Float64Array(d + 1);
  const m = new Float64Array(d + 1);
  const v = new Float64Array(d + 1);
  const grad = new Float64Array(d + 1);
  const rate = 0.05;
  for (let it = 1; it <= iterations; it++) {
    grad.fill(0);
    for (let k = 0; k < n; k++) {
      const base = k * d;
      let s = w[d]!;
      for (let j = 0; j < d; j++) s += w[j]! * flat[base + j]!;
      const g = (1 / (1 + Math.exp(-s)) - y[k]!) / n;
      for (let j = 0; j < d; j++) grad[j]! += g * flat[base + j]!;
      grad[d]! += g;
    }
    for (let j = 0; j < d; j++) grad[j]! += l2 * w[j]!;
    const c1 = 1 - 0.9 ** it;
    const c2 = 1 - 0.999 ** it;
    for (let j = 0; j <= d; j++) {
      m[j] = 0.9 * m[j]! + 0.1 * grad[j]!;
      v[j] = 0.999 * v[j]! + 0.001 * grad[j]! * grad[j]!;
      w[j]! -= (rate * (m[j]! / c1)) / (Math.sqrt(v[j]! / c2) + 1e-8);
    }
  }
  return w;
}

/** The probe's logit for one sample (> 0: more likely harmful than not). */
export function logisticScore(model: LogisticModel, features: ArrayLike<number>): number {
  let s = model.bias;
  for (let j = 0; j < model.weights.length; j++) s += (model.weights[j]! * (features[j]! - model.mean[j]!)) / model.scale[j]!;
  return s;
}

/** Solves A x = b for a symmetric positive definite A (Cholesky). */
function solveSymmetric(a: Float64Array[], b: Float64Array): Float64Array {
  const n = b.length;
  const l = Array.from({ length: n }, () => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i]![j]!;
      for (let k = 0; k < j; k++) s -= l[i]![k]! * l[j]![k]!;
      l[i]![j] = i === j ? Math.sqrt(Math.max(s, 1e-300)) : s / l[j]![j]!;
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i]![k]! * y[k]!;
    y[i] = s / l[i]![i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k]![i]! * x[k]!;
    x[i] = s / l[i]![i]!;
  }
  return x;
}

/** L2 penalty of the gate probe (chosen on validation prompts by `npm run bench:gate-study`; README). */
export const GATE_PROBE_L2 = 0.1;

/**
 * Adam iterations of the gate probe: the fit on every calibration prompt starts from zero; each
 * cross-fitting fold starts from it and needs fewer (directions within cosine 0.9996 of a
 * 1000-iteration fit on Qwen's cached activations).
 */
export const GATE_PROBE_ITERATIONS = { whole: 150, fold: 50 } as const;

/**
 * A gate direction from a linear probe: logistic regression on the unit-normalised activations of
 * one block (harmful 1, harmless 0), its weights mapped back from standardised features to
 * activation space (w_i / scale_i) and normalised. The probe's logit is then an increasing
 * function of the cosine between an activation and this direction (logit = b' + |u| cos), so the
 * engine's cosine gate with a threshold on this direction decides exactly as the probe does.
 */
export function probeDirection(harmful: readonly Float32Array[], harmless: readonly Float32Array[], l2: number = GATE_PROBE_L2): Float32Array {
  return probeFit(harmful, harmless, l2).direction;
}

/**
 * probeDirection with its fitted model; `start` (a fit on a superset, e.g. all the calibration
 * prompts when this is one cross-fitting fold) starts Adam near the optimum, so fewer iterations
 * reach it.
 */
export function probeFit(
  harmful: readonly Float32Array[],
  harmless: readonly Float32Array[],
  l2: number = GATE_PROBE_L2,
  start?: LogisticModel,
): { direction: Float32Array; model: LogisticModel } {
  const unit = (a: Float32Array) => {
    let n = 0;
    for (let i = 0; i < a.length; i++) n += a[i]! * a[i]!;
    n = Math.sqrt(n) || 1;
    return Array.from(a, (x) => x / n);
  };
  const model = fitLogistic([...harmful, ...harmless].map(unit), [...harmful.map(() => 1), ...harmless.map(() => 0)], {
    l2,
    iterations: start ? GATE_PROBE_ITERATIONS.fold : GATE_PROBE_ITERATIONS.whole,
    ...(start ? { start } : {}),
  });
  const u = model.weights.map((w, i) => w / model.scale[i]!);
  const n = Math.sqrt(u.reduce((s, x) => s + x * x, 0));
  if (!(n > 0) || !Number.isFinite(n)) throw new RangeError("the gate probe found no direction (its weights are zero or not finite)");
  return { direction: Float32Array.from(u, (x) => x / n), model };
}
