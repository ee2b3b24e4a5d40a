// The gate probe as the addon fits it (native/Probe.cpp, off the JS thread) against the same fit
// in JavaScript (lib/vectors/probe.ts's probeFit: the specification), on seeded data: the whole
// fit's direction and each cross-fitting fold's, and the coded errors of bad rows.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { ia } from "./helpers/engine.js";
import { mulberry32 } from "./helpers/tinyModel.js";
import { addActivation, newClassAccumulator } from "../dist/vectors/classStats.js";
import { CROSS_FIT_FOLDS, fitGateProbes } from "../dist/vectors/gateProbes.js";
import { GATE_PROBE_ITERATIONS, GATE_PROBE_L2, probeFit } from "../dist/vectors/probe.js";

const probes = suite("gateProbe");
const { native } = ia.getBinding();

/** Two classes of `d` features (above 64: the Adam path), apart along a few features, with an offset shared by both. */
function classes(seed: number, nHarmful: number, nHarmless: number, d: number): { harmful: Float32Array[]; harmless: Float32Array[] } {
  const random = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const sample = (sign: number) => Float32Array.from({ length: d }, (_, i) => gauss() + (i < 6 ? sign * 0.8 : 0) + (i === 7 ? 5 : 0));
  return { harmful: Array.from({ length: nHarmful }, () => sample(1)), harmless: Array.from({ length: nHarmless }, () => sample(-1)) };
}

/** The cross-fitted directions in JavaScript, in the addon's order: the whole fit, then fold by fold. */
function reference(harmful: Float32Array[], harmless: Float32Array[], folds: number): Float32Array[] {
  const whole = probeFit(harmful, harmless, GATE_PROBE_L2);
  const without = (set: Float32Array[], f: number) => set.filter((_, i) => i % folds !== f);
  return [
    whole.direction,
    ...Array.from({ length: folds }, (_, f) => probeFit(without(harmful, f), without(harmless, f), GATE_PROBE_L2, whole.model).direction),
  ];
}

const settings = (folds: number) => ({ l2: GATE_PROBE_L2, wholeIterations: GATE_PROBE_ITERATIONS.whole, foldIterations: GATE_PROBE_ITERATIONS.fold, folds });
const packed = (rows: Float32Array[]) => {
  const out = new Float32Array(rows.length * rows[0]!.length);
  rows.forEach((r, k) => out.set(r, k * r.length));
  return out;
};

function assertClose(actual: Float32Array, expected: Float32Array, what: string): void {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  // Unit vectors. The addon sums in another order (four partial sums): on x64 the float32 results
  // were identical; the margin is for compilers that fuse multiply-adds. A fold's direction differs
  // from the whole fit's by about 0.1 here, so a fit on the wrong samples cannot pass.
  assert.ok(worst < 1e-5, `${what}: largest difference ${worst}`);
}

probes("the addon's whole fit and every fold's equal the JavaScript fit (unequal classes, 5 folds)", async () => {
  const d = 96;
  const { harmful, harmless } = classes(11, 43, 37, d);
  const out = await native.fitGateProbe(packed(harmful), packed(harmless), d, settings(5));
  assert.is(out.length, 6 * d);
  reference(harmful, harmless, 5).forEach((expected, f) => assertClose(out.subarray(f * d, (f + 1) * d), expected, f === 0 ? "whole fit" : `fold ${f - 1}`));
});

probes("fitGateProbes: each block's probe, several blocks at once, scores each prompt with its fold's direction", async () => {
  const d = 80;
  const nLayers = 3;
  const random = mulberry32(5);
  const harmful = newClassAccumulator(nLayers, d, 1000, random);
  const harmless = newClassAccumulator(nLayers, d, 1000, random);
  const perLayer = Array.from({ length: nLayers }, (_, l) => classes(100 + l, 12, 9, d));
  for (let k = 0; k < 12; k++) addActivation(harmful, Float32Array.from(perLayer.flatMap((c) => [...c.harmful[k]!])));
  for (let k = 0; k < 9; k++) addActivation(harmless, Float32Array.from(perLayer.flatMap((c) => [...c.harmless[k]!])));
  const fitted = await fitGateProbes(harmful, harmless, 2);
  assert.is(fitted.length, nLayers);
  perLayer.forEach((c, l) => {
    const expected = reference(c.harmful, c.harmless, CROSS_FIT_FOLDS);
    assertClose(fitted[l]!.direction, expected[0]!, `block ${l}`);
    assertClose(fitted[l]!.harmful(7), expected[1 + (7 % CROSS_FIT_FOLDS)]!, `block ${l}, harmful prompt 7`);
    assertClose(fitted[l]!.harmless(3), expected[1 + 3]!, `block ${l}, harmless prompt 3`);
  });
});

probes("fewer prompts than two folds: the whole fit scores every prompt", async () => {
  const d = 70;
  const { harmful, harmless } = classes(3, 4, 1, d);
  const out = await native.fitGateProbe(packed(harmful), packed(harmless), d, settings(0));
  assert.is(out.length, d);
  assertClose(out, probeFit(harmful, harmless, GATE_PROBE_L2).direction, "whole fit");
});

probes("bad rows are coded errors, before or during the fit, and the process survives", async () => {
  const d = 70;
  const { harmful, harmless } = classes(4, 6, 6, d);
  const withNaN = packed(harmful);
  withNaN[3] = NaN;
  assert.throws(
    () => native.fitGateProbe(withNaN, packed(harmless), d, settings(5)),
    (e: Error & { code?: string }) => e instanceof RangeError && e.code === "ERR_INVALID_ARGUMENT" && /not finite/.test(e.message),
  );
  assert.throws(() => native.fitGateProbe(packed(harmful).subarray(1), packed(harmless), d, settings(5)), /whole number of rows/);
  assert.throws(() => native.fitGateProbe(new Float32Array(0), packed(harmless), d, settings(5)), /whole number of rows/);
  assert.throws(() => native.fitGateProbe(packed(harmful), packed(harmless), d, { ...settings(5), folds: 2.5 }), /folds must be an integer/);
  const rejected = async (p: Promise<unknown>, pattern: RegExp) => {
    const error = await p.then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    assert.ok(error instanceof ia.LlamaError && error.code === "ERR_INVALID_ARGUMENT" && pattern.test(error.message), String(error));
  };
  await rejected(native.fitGateProbe(packed(harmful), packed(harmless.slice(0, 3)), d, settings(5)), /as many samples of each class as folds/);
  // All-zero rows: the penalised fit keeps every weight at zero, so there is no direction.
  await rejected(native.fitGateProbe(new Float32Array(4 * d), new Float32Array(4 * d), d, settings(2)), /found no direction/);
});

probes.run();
