// The gate probes of an extraction, one per block, fitted by the addon off the JS thread
// (native/Probe.cpp). probeFit in ./probe.ts is the same fit in JavaScript: the specification,
// and the reference the tests hold the addon's fits to.
import { getBinding } from "../binding.js";
import { GenerationAbortedError } from "../errors.js";
import { keptAtLayer, type ClassAccumulator } from "./classStats.js";
import { GATE_PROBE_ITERATIONS, GATE_PROBE_L2 } from "./probe.js";

/**
 * A block's probe direction, and per calibration prompt (by class and index) the direction of the
 * probe fitted without that prompt's fold: a probe scores the prompts it was fitted on further
 * from its threshold than new ones, so thresholds are set on these out-of-fold scores.
 */
export interface CrossFittedProbe {
  direction: Float32Array;
  harmful(index: number): Float32Array;
  harmless(index: number): Float32Array;
}

export const CROSS_FIT_FOLDS = 5;

/** The cross-fitted probe of every block of the classes' kept activations, `concurrency` blocks at a time. */
export async function fitGateProbes(
  harmful: ClassAccumulator,
  harmless: ClassAccumulator,
  concurrency: number,
  signal?: AbortSignal,
): Promise<CrossFittedProbe[]> {
  const probes: CrossFittedProbe[] = new Array(harmful.nLayers);
  let next = 0;
  const worker = async () => {
    while (next < harmful.nLayers) {
      if (signal?.aborted) throw new GenerationAbortedError("extraction was aborted");
      const layer = next++;
      probes[layer] = await fitBlock(keptAtLayer(harmful, layer), keptAtLayer(harmless, layer));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, harmful.nLayers)) }, worker));
  return probes;
}

async function fitBlock(harmful: Float32Array[], harmless: Float32Array[]): Promise<CrossFittedProbe> {
  const d = harmful[0]!.length;
  const folds = Math.min(CROSS_FIT_FOLDS, harmful.length, harmless.length);
  const out = await getBinding().native.fitGateProbe(packed(harmful, d), packed(harmless, d), d, {
    l2: GATE_PROBE_L2,
    wholeIterations: GATE_PROBE_ITERATIONS.whole,
    foldIterations: GATE_PROBE_ITERATIONS.fold,
    folds: folds >= 2 ? folds : 0,
  });
  const direction = out.slice(0, d);
  if (folds < 2) return { direction, harmful: () => direction, harmless: () => direction };
  const foldDirections = Array.from({ length: folds }, (_, f) => out.slice((1 + f) * d, (2 + f) * d));
  return { direction, harmful: (i) => foldDirections[i % folds]!, harmless: (i) => foldDirections[i % folds]! };
}

function packed(rows: readonly Float32Array[], d: number): Float32Array {
  const out = new Float32Array(rows.length * d);
  rows.forEach((r, k) => out.set(r, k * d));
  return out;
}
