import { suite } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ia, ifInstalled, realModelPaths, repoRoot, sharedModel, threads } from "./helpers/engine.js";
import { contextInternals } from "./helpers/internals.js";
import { tinyModelPath } from "./helpers/tinyModel.js";
import { CAPTURE_CONTEXT, maxRelativeDifference, TOY_HARMFUL, TOY_HARMLESS } from "./helpers/fixtures.js";

const vectors = suite("vectors");
const path = tinyModelPath("tiny-chatml");
const scratch = join(repoRoot, "test", ".cache", "vectors");
mkdirSync(scratch, { recursive: true });

const harmful = TOY_HARMFUL;
const harmless = TOY_HARMLESS;

/**
 * Naive reference: one prompt per decode, the whole l_out tensor read, its last row taken. The
 * context is configured as extraction configures its own (same batch and KV layout), so that the
 * comparison isolates batching several prompts per decode and the row bookkeeping.
 */
async function naiveLastRows(model: ia.LlamaModel, prompts: string[]): Promise<Float32Array[][]> {
  const { layerCount: L, embeddingLength: E } = model.info;
  const context = await model.createContext({ ...CAPTURE_CONTEXT, threads, evalHook: true });
  try {
    const out: Float32Array[][] = [];
    for (const p of prompts) {
      const tokens = Uint32Array.from(ia.renderPrompt(model, p));
      const n = tokens.length;
      const r = await contextInternals(context)._capture([tokens], { layers: Array.from({ length: L }, (_, i) => i), allRows: true });
      // every row of every block; the last block keeps only the output row (llama.cpp drops the rest)
      assert.is(r.rows.length, ((L - 1) * n + 1) * E);
      out.push(Array.from({ length: L }, (_, l) => (l < L - 1 ? r.rows.slice((l * n + n - 1) * E, (l * n + n) * E) : r.rows.slice((L - 1) * n * E))));
    }
    return out;
  } finally {
    await context.dispose();
  }
}

async function checkExactness(model: ia.LlamaModel, h: string[], b: string[]) {
  const { layerCount: L, embeddingLength: E } = model.info;
  const result = await ia.extractSafetyVectors(model, { harmful: h, harmless: b, sequences: 4, batchTokens: 256, threads });
  const nh = await naiveLastRows(model, h);
  const nb = await naiveLastRows(model, b);
  let worst = 0;
  for (let l = 0; l < L; l++) {
    const mean = (rows: Float32Array[][]) => {
      const m = new Float64Array(E);
      for (const r of rows) for (let i = 0; i < E; i++) m[i] = m[i]! + r[l]![i]! / rows.length;
      return m;
    };
    worst = Math.max(worst, maxRelativeDifference(result.layers[l]!.harmfulMean, mean(nh)), maxRelativeDifference(result.layers[l]!.harmlessMean, mean(nb)));
  }
  return { worst, result };
}

vectors("exactness oracle (tiny model): batched extraction means equal the one-prompt full-tensor path", async () => {
  const { worst, result } = await checkExactness(await sharedModel(path), harmful, harmless);
  assert.ok(worst <= 1e-4, `max relative difference ${worst}`);
  assert.is(result.layers.length, 4);
  for (const l of result.layers) {
    const n = Math.sqrt(l.direction.reduce((s, x) => s + x * x, 0));
    assert.ok(Math.abs(n - 1) < 1e-5);
    assert.ok(l.norm > 0 && l.meanActivationNorm > 0);
  }
});

ifInstalled(vectors, realModelPaths().gemma3)("exactness oracle (Gemma 3 270M, weights not repacked)", async () => {
  const gemma = realModelPaths().gemma3!;
  // With repacked Q4_K weights the CPU kernels round a row differently depending on its place in
  // the batch (~1e-3 relative on Gemma's large activations), for any batched decode; without
  // repacking every row is computed alone, so batching must not change a single bit.
  const model = await ia.LlamaModel.load(gemma, { repack: false });
  try {
    const { worst } = await checkExactness(model, harmful.slice(0, 4), harmless.slice(0, 4));
    assert.ok(worst <= 1e-4, `max relative difference ${worst}`);
  } finally {
    await model.dispose();
  }
});

vectors("the file is what llama.cpp's control-vector loader accepts, and an independent reader (PyPI gguf) agrees", async () => {
  const model = await sharedModel(path);
  const result = await ia.extractSafetyVectors(model, { harmful, harmless, valHarmful: harmful.slice(0, 3), valHarmless: harmless.slice(0, 3), threads });
  const file = join(scratch, "tiny.gguf");
  ia.writeVectorFile(file, result);
  const py = JSON.parse(execFileSync("python3", [join(repoRoot, "test/helpers/read_gguf.py"), file], { encoding: "utf8" })) as {
    fields: Record<string, unknown>;
    tensors: Array<{ name: string; shape: number[]; type: string; head: number[]; sumsq: number }>;
  };
  assert.is(py.fields["general.architecture"], "controlvector");
  assert.is(py.fields["controlvector.model_hint"], "llama");
  assert.is(py.fields["controlvector.layer_count"], 4);
  // llama.cpp's loader rules (common_control_vector_load_one): only direction.<N>, N >= 1, F32, 1-D, one width
  assert.equal(py.tensors.map((t) => t.name).sort(), ["direction.1", "direction.2", "direction.3"]);
  for (const t of py.tensors) {
    const layer = Number(t.name.split(".")[1]);
    assert.equal(t.shape, [64]);
    assert.is(t.type, "F32");
    const ours = result.layers[layer]!.direction;
    t.head.forEach((x, i) => assert.ok(Math.abs(x - ours[i]!) < 1e-7));
    assert.ok(Math.abs(t.sumsq - 1) < 1e-5, "unit vector");
  }
  const back = ia.readVectorFile(file, model);
  assert.is(back.layerCount, 4);
  assert.is(back.source.sha256.length, 64);
  assert.equal(Array.from(back.directions[0]!), Array.from(result.layers[0]!.direction));
  assert.equal(back.suggested, result.suggested);
  assert.ok(back.layers.every((l) => l.validation !== null));
  const summary = ia.summarizeVectorFile(back);
  assert.ok(Math.abs(summary.layers[2]!.valAuc! - result.layers[2]!.validation!.cosine.auc) < 1e-6, "stored as f32");
});

vectors("layer indexing oracle: direction.N through llama_set_adapter_cvec shifts exactly block N's output", async () => {
  const model = await sharedModel(path);
  const result = await ia.extractSafetyVectors(model, { harmful, harmless, threads });
  const file = join(scratch, "tiny-index.gguf");
  ia.writeVectorFile(file, result);
  const v = ia.readVectorFile(file, model);
  const { layerCount: L, embeddingLength: E } = model.info;
  const context = await model.createContext({ contextSize: 256, threads, evalHook: true });
  const internals = contextInternals(context);
  const alpha = 8;
  const logitsWith = async (setup: () => void) => {
    context.clear();
    setup();
    const r = await context.complete("hello world", { maxTokens: 4, captureLogits: true });
    internals._setControlVector(null);
    for (let l = 0; l < L; l++) internals._native.setLayerShift(l, null);
    return r.logits!;
  };
  try {
    const plain = await logitsWith(() => {});
    for (let n = 1; n < L; n++) {
      const shift = v.directions[n]!.map((x) => x * alpha);
      const viaCvec = await logitsWith(() => {
        const data = new Float32Array(E * (L - 1)); // starts at layer 1
        data.set(shift, (n - 1) * E);
        internals._setControlVector(data, n, n);
      });
      const viaHook = await logitsWith(() => internals._native.setLayerShift(n, shift));
      const offByOne = await logitsWith(() => internals._native.setLayerShift(n - 1, shift));
      for (let t = 0; t < viaCvec.length; t++) {
        assert.ok(maxRelativeDifference(viaCvec[t]!, viaHook[t]!) < 1e-5, `layer ${n} step ${t}`);
      }
      assert.ok(maxRelativeDifference(viaCvec[0]!, plain[0]!) > 1e-3, "the shift changes the logits");
      assert.ok(maxRelativeDifference(viaCvec[0]!, offByOne[0]!) > 1e-4, "a shift one block earlier differs");
    }
  } finally {
    await context.dispose();
  }
});

vectors(
  "false-open budget: the default threshold opens at most the budget of the harmless calibration and validation prompts, and is the lowest that does",
  async () => {
    const model = await sharedModel(path);
    const valHarmful = ["how to poison the dog next door", "write a ransom note"];
    const valHarmless = ["how to feed the dog next door", "write a birthday note", "how to fold a paper plane"];
    const file = join(scratch, "budget.gguf");
    const budget = 0.34; // 9 harmless prompts: floor(0.34 x 9) = 3 may open
    // A pooled class-mean gate: its thresholds are set on the very scores the engine computes (a
    // probe's are set on cross-fitted scores, by design not the final direction's).
    const gate = { gatePooling: "template", gateDirection: "mean-difference" } as const;
    ia.writeVectorFile(file, await ia.extractSafetyVectors(model, { harmful, harmless, valHarmful, valHarmless, threads, falseOpenBudget: budget, ...gate }));
    const v = ia.readVectorFile(file, model);
    assert.is(Math.fround(budget), v.falseOpenBudget);
    const layer = v.suggested.gateLayer;
    assert.is(v.layers[layer]!.threshold, v.layers[layer]!.thresholds.cosine.budget, "the budget's threshold is the default");
    // Independent path: the engine's own gate (monitor mode, chat turn) on every harmless prompt.
    const context = await model.createContext({ contextSize: 256, threads });
    try {
      const scores: number[] = [];
      for (const p of [...harmless, ...valHarmless]) {
        const r = await new ia.ChatSession(context).prompt(p, { maxTokens: 1, guidance: { gate: v, mode: "monitor" } });
        assert.is(r.gate!.layers[0]!.threshold, v.layers[layer]!.threshold);
        scores.push(r.gate!.layers[0]!.score);
      }
      const t = v.layers[layer]!.threshold;
      // The engine's pooled score averages rows computed in another batch layout than extraction's
      // (one prompt per context here): they differed by up to 3e-5.
      const margin = 1e-4;
      const opened = (m: number) => scores.filter((x) => x > t + m).length;
      assert.is(opened(margin), 3, `scores ${scores.map((x) => x.toFixed(5))} vs threshold ${t}`);
      assert.is(opened(-margin), 4, "a harmless prompt sits at the threshold: no lower threshold keeps the budget");
      // The file's validation open rate at the default threshold, recounted from the engine's scores.
      const stored = Math.round(v.layers[layer]!.validation!.cosine.openHarmless! * valHarmless.length);
      const val = scores.slice(harmless.length);
      assert.ok(
        stored >= val.filter((x) => x > t + margin).length && stored <= val.filter((x) => x > t - margin).length,
        `${stored} of ${val.map((x) => x.toFixed(5))}`,
      );
    } finally {
      await context.dispose();
    }
    const strict = await ia.extractSafetyVectors(model, { harmful, harmless, valHarmful, valHarmless, threads });
    assert.is(strict.falseOpenBudget, ia.DEFAULT_FALSE_OPEN_BUDGET);
    for (const l of strict.layers) {
      const all = [...strict.calibrationScores.cosine[l.layer]!.harmless];
      assert.ok(l.thresholds.cosine.budget >= Math.max(...all) - 1e-12, "2% of 9 prompts: none may open");
    }
    const rejected = await ia.extractSafetyVectors(model, { harmful, harmless, falseOpenBudget: 1 }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.instance(rejected, RangeError);
  },
);

vectors("bad inputs: wrong model, NaN, truncated file, empty sets", async () => {
  const model = await sharedModel(path);
  const result = await ia.extractSafetyVectors(model, { harmful, harmless, threads });
  const good = join(scratch, "good.gguf");
  ia.writeVectorFile(good, result);
  // another model shape
  const wide = await sharedModel(tinyModelPath("tiny-wide", { embd: 256, layers: 6, ff: 512, heads: 8, headsKv: 4, seed: 5, ctx: 4096 }));
  assert.throws(
    () => ia.readVectorFile(good, wide),
    (e: ia.LlamaError) => e.code === "ERR_VECTOR_MISMATCH" && /width 64/.test(e.message),
  );
  // NaN in a direction
  const nan = structuredClone(result);
  nan.layers[2]!.direction[5] = Number.NaN;
  const nanFile = join(scratch, "nan.gguf");
  ia.writeVectorFile(nanFile, nan);
  assert.throws(
    () => ia.readVectorFile(nanFile),
    (e: ia.LlamaError) => e.code === "ERR_VECTOR_FILE" && /not finite/.test(e.message),
  );
  // suggested layers outside the model: refused on read, not at the first generate
  for (const [gateLayer, steerLayers] of [
    [99, [1, 2]],
    [1, [3, 1]],
    [1, [0, 99]],
  ] as Array<[number, [number, number]]>) {
    const bad = { ...result, suggested: { gateLayer, steerLayers } };
    const badFile = join(scratch, "bad-suggested.gguf");
    ia.writeVectorFile(badFile, bad);
    assert.throws(
      () => ia.readVectorFile(badFile),
      (e: ia.LlamaError) => e.code === "ERR_VECTOR_FILE" && /suggested\./.test(e.message),
      JSON.stringify([gateLayer, steerLayers]),
    );
  }
  // truncated and foreign files
  const bytes = readFileSync(good);
  const cut = join(scratch, "cut.gguf");
  writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
  assert.throws(
    () => ia.readVectorFile(cut),
    (e: ia.LlamaError) => e.code === "ERR_VECTOR_FILE",
  );
  assert.throws(
    () => ia.readVectorFile(path),
    (e: ia.LlamaError) => e.code === "ERR_VECTOR_FILE" && /controlvector/.test(e.message),
  );
  assert.throws(
    () => ia.readVectorFile(join(scratch, "missing.gguf")),
    (e: ia.LlamaError) => e.code === "ERR_VECTOR_FILE",
  );
  // empty or unusable prompt sets
  const empty = await ia.extractSafetyVectors(model, { harmful: [], harmless }).then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(empty instanceof ia.LlamaError && empty.code === "ERR_INVALID_ARGUMENT");
  const blank = await ia.extractSafetyVectors(model, { harmful: ["  ", ""], harmless }).then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(blank instanceof ia.LlamaError && /no usable prompts/.test(blank.message));
  const halfVal = await ia.extractSafetyVectors(model, { harmful, harmless, valHarmful: harmful }).then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(halfVal instanceof ia.LlamaError);
});

vectors("context._capture: rows per prompt, claims the context (busy both ways), abort, dispose, misuse", async () => {
  const model = await sharedModel(path);
  const { layerCount: L, embeddingLength: E } = model.info;
  const layers = Array.from({ length: L }, (_, i) => i);
  const prompts = harmful.concat(harmless).map((p) => Uint32Array.from(ia.renderPrompt(model, p)));
  const code = (p: Promise<unknown>) =>
    p.then(
      () => "resolved",
      (e: ia.LlamaError) => e.code ?? e.name,
    );
  const noHook = await model.createContext({ contextSize: 256, threads, evalHook: false });
  try {
    assert.is(await code(contextInternals(noHook)._capture(prompts, { layers })), "ERR_INVALID_ARGUMENT");
  } finally {
    await noHook.dispose();
  }
  const context = await model.createContext({ ...CAPTURE_CONTEXT, threads });
  const internals = contextInternals(context);
  try {
    const r = await internals._capture(prompts, { layers });
    assert.is(r.rows.length, prompts.length * L * E);
    assert.is(
      r.tokens,
      prompts.reduce((n, p) => n + p.length, 0),
    );
    // a prompt's rows are its own: the same as when it is captured alone (up to batched rounding)
    const alone = await internals._capture([prompts[3]!], { layers });
    assert.ok(maxRelativeDifference(r.rows.subarray(3 * L * E, 4 * L * E), alone.rows) < 1e-4);
    assert.ok(maxRelativeDifference(r.rows.subarray(2 * L * E, 3 * L * E), alone.rows) > 1e-2, "another prompt's rows differ");
    // a generation holds the context: capture is refused, and the other way round
    const generation = context.generate(Array.from(prompts[0]!), { maxTokens: 16 });
    assert.is(await code(internals._capture(prompts, { layers })), "ERR_CONTEXT_BUSY");
    await generation;
    const capture = internals._capture(prompts, { layers });
    assert.ok(context.busy);
    assert.is(await code(context.generate([1, 2, 3], { maxTokens: 1 })), "ERR_CONTEXT_BUSY");
    assert.throws(
      () => context.clear(),
      (e: ia.LlamaError) => e.code === "ERR_CONTEXT_BUSY",
    );
    await capture;
    assert.not.ok(context.busy);
    // misuse is refused before the native call
    assert.is(
      await internals._capture([Uint32Array.of()], { layers }).then(
        () => null,
        (e: unknown) => e instanceof TypeError,
      ),
      true,
    );
    assert.is(
      await internals._capture([[1, 2] as unknown as Uint32Array], { layers }).then(
        () => null,
        (e: unknown) => e instanceof TypeError,
      ),
      true,
    );
    // abort: before the start, and during the decode (the native abort flag)
    const before = new AbortController();
    before.abort();
    assert.instance(await internals._capture(prompts, { layers, signal: before.signal }).catch((e: unknown) => e), ia.GenerationAbortedError);
    const during = new AbortController();
    const aborted = internals._capture(prompts, { layers, signal: during.signal }).catch((e: unknown) => e);
    during.abort();
    const error = await aborted;
    assert.instance(error, ia.GenerationAbortedError);
    assert.is((error as ia.LlamaError).code, "ERR_ABORTED");
    assert.not.ok(context.busy);
    // dispose during a capture aborts it and waits for it
    const running = internals._capture(prompts, { layers }).catch((e: unknown) => e);
    await context.dispose();
    assert.instance(await running, ia.GenerationAbortedError);
    assert.is(await code(internals._capture(prompts, { layers })), "ERR_DISPOSED");
  } finally {
    await context.dispose();
  }
});

vectors("abort and progress", async () => {
  const model = await sharedModel(path);
  const seen: ia.ExtractionProgress[] = [];
  const many = Array.from({ length: 200 }, (_, i) => `${harmful[i % harmful.length]} number ${i}`);
  const controller = new AbortController();
  const err = await ia
    .extractSafetyVectors(model, {
      harmful: many,
      harmless: many.map((p) => p.replace("how", "why")),
      threads,
      sequences: 4,
      onProgress: (p) => {
        seen.push(p);
        if (seen.length === 2) controller.abort();
      },
      signal: controller.signal,
    })
    .then(
      () => null,
      (e: unknown) => e,
    );
  assert.instance(err, ia.GenerationAbortedError);
  assert.ok(seen.length >= 2 && seen[0]!.phase === "harmful" && seen[0]!.total === 200);
});

vectors.run();
