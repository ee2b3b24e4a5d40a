// A gate that reads the mean over the chat template's tokens after the user's text (issue 15,
// `gatePooling: "template"`), checked against a naive path: every row of every block of one prompt
// per decode (capture's allRows), the last k rows averaged in JS, then the class means and the
// cosine computed here.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { mkdirSync } from "node:fs";
import { ia, repoRoot, sharedModel, threads } from "./helpers/engine.js";
import { contextInternals } from "./helpers/internals.js";
import { tinyModelPath } from "./helpers/tinyModel.js";
import { CAPTURE_CONTEXT, maxRelativeDifference, TOY_HARMFUL, TOY_HARMLESS } from "./helpers/fixtures.js";
import type { ResolvedGuidance as ResolvedWithInternals } from "../lib/guidance.js";

const pooled = suite("pooledGate");
const path = tinyModelPath("tiny-chatml");
const scratch = join(repoRoot, "test", ".cache", "pooled-gate");
mkdirSync(scratch, { recursive: true });

/** Every block's rows of one prompt (the last block: its one output row), one prompt per decode. */
async function allRows(model: ia.LlamaModel, tokens: number[]): Promise<Float32Array[][]> {
  const { layerCount: L, embeddingLength: E } = model.info;
  const context = await model.createContext({ ...CAPTURE_CONTEXT, threads, evalHook: true });
  try {
    const n = tokens.length;
    const r = await contextInternals(context)._capture([Uint32Array.from(tokens)], { layers: Array.from({ length: L }, (_, i) => i), allRows: true });
    return Array.from({ length: L }, (_, l) =>
      l < L - 1 ? Array.from({ length: n }, (_, t) => r.rows.slice((l * n + t) * E, (l * n + t + 1) * E)) : [r.rows.slice((L - 1) * n * E)],
    );
  } finally {
    await context.dispose();
  }
}

function meanOfLast(rows: Float32Array[], k: number): Float64Array {
  const out = new Float64Array(rows[0]!.length);
  for (const r of rows.slice(-k)) for (let i = 0; i < out.length; i++) out[i]! += r[i]! / k;
  return out;
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

let pooledFile: string | undefined;
async function pooledVectors(): Promise<{ file: string; v: ia.VectorFile }> {
  const model = await sharedModel(path);
  if (!pooledFile) {
    pooledFile = join(scratch, "pooled.gguf");
    ia.writeVectorFile(
      pooledFile,
      await ia.extractSafetyVectors(model, {
        harmful: TOY_HARMFUL,
        harmless: TOY_HARMLESS,
        gatePooling: "template",
        gateDirection: "mean-difference",
        threads,
      }),
    );
  }
  return { file: pooledFile, v: ia.readVectorFile(pooledFile, model) };
}

pooled("capture lastRows: each prompt's last k rows, several prompts per decode, equal the one-prompt full-tensor rows", async () => {
  const model = await sharedModel(path);
  const { layerCount: L, embeddingLength: E } = model.info;
  const k = 4;
  const prompts = [...TOY_HARMFUL.slice(0, 3), ...TOY_HARMLESS.slice(0, 3)].map((p) => ia.renderPrompt(model, p));
  const context = await model.createContext({ ...CAPTURE_CONTEXT, threads, evalHook: true });
  try {
    const r = await contextInternals(context)._capture(
      prompts.map((t) => Uint32Array.from(t)),
      { layers: Array.from({ length: L }, (_, i) => i), lastRows: k },
    );
    assert.is(r.rows.length, prompts.length * L * k * E);
    assert.ok(r.decodes < prompts.length, `several prompts per decode (${r.decodes} decodes)`);
    let worst = 0;
    for (let p = 0; p < prompts.length; p++) {
      const naive = await allRows(model, prompts[p]!);
      for (let l = 0; l < L - 1; l++) {
        const n = naive[l]!.length;
        for (let j = 0; j < k; j++) {
          const got = r.rows.subarray(((p * L + l) * k + j) * E, ((p * L + l) * k + j + 1) * E);
          worst = Math.max(worst, maxRelativeDifference(got, naive[l]![n - k + j]!));
        }
      }
      // the last block: its last row is the prompt's output row
      const lastRow = r.rows.subarray(((p * L + L - 1) * k + k - 1) * E, ((p * L + L - 1) * k + k) * E);
      worst = Math.max(worst, maxRelativeDifference(lastRow, naive[L - 1]![0]!));
    }
    assert.ok(worst <= 1e-4, `max relative difference ${worst}`);
    for (const [lastRows, message] of [
      [3, /fewer than lastRows/],
      [0, /at least 1/],
    ] as const) {
      const error = await contextInternals(context)
        ._capture([Uint32Array.from([1, 2])], { layers: [0], lastRows })
        .then(
          () => null,
          (e: Error) => e,
        );
      assert.ok(error instanceof RangeError, `lastRows ${lastRows}: ${String(error)}`);
      assert.match(error.message, message);
    }
  } finally {
    await context.dispose();
  }
});

pooled("extraction: the gate direction is the class-mean difference of the template tokens' mean; steering keeps the last token's", async () => {
  const model = await sharedModel(path);
  const { v } = await pooledVectors();
  const k = ia.templateSuffixTokens(model);
  // ChatML: <|im_end|> \n <|im_start|> assistant \n (how many tokens depends on the tokenizer)
  assert.ok(k >= 3, `template suffix ${k} tokens`);
  assert.is(v.gatePoolTokens, k);
  assert.is(v.formatVersion, 2);
  assert.ok(v.gateDirections);
  const L = model.info.layerCount;
  const naive = async (set: readonly string[]) => Promise.all(set.map(async (p) => allRows(model, ia.renderPrompt(model, p))));
  const h = await naive(TOY_HARMFUL);
  const b = await naive(TOY_HARMLESS);
  let worst = 0;
  for (let l = 0; l < L - 1; l++) {
    const classMean = (rows: Float32Array[][][], pool: number) => {
      const m = new Float64Array(model.info.embeddingLength);
      for (const r of rows) {
        const x = meanOfLast(r[l]!, pool);
        for (let i = 0; i < m.length; i++) m[i]! += x[i]! / rows.length;
      }
      return m;
    };
    const direction = (pool: number) => {
      const d = classMean(h, pool).map((x, i) => x - classMean(b, pool)[i]!);
      const n = Math.hypot(...d);
      return d.map((x) => x / n);
    };
    worst = Math.max(worst, maxRelativeDifference(v.gateDirections![l]!, direction(k)), maxRelativeDifference(v.directions[l]!, direction(1)));
  }
  assert.ok(worst <= 1e-3, `max relative difference ${worst}`);
  // the last block is no gate candidate: the engine cannot pool there
  assert.ok(v.suggested.gateLayer < L - 1);
});

pooled("the engine's pooled gate score equals the naive mean-then-cosine; the same prompt again is scored on its template tokens again", async () => {
  const model = await sharedModel(path);
  const { v } = await pooledVectors();
  const k = v.gatePoolTokens;
  const L = model.info.layerCount;
  const context = await model.createContext({ contextSize: 512, threads, flashAttention: false });
  try {
    for (const layer of [0, L - 2]) {
      const prompt = TOY_HARMFUL[2]!;
      const tokens = ia.renderPrompt(model, prompt);
      const expected = cosine(meanOfLast((await allRows(model, tokens))[layer]!, k), v.gateDirections![layer]!);
      const guidance = { gate: v, gateLayers: [layer], mode: "monitor" as const };
      context.clear();
      const first = await context.generate(tokens, { maxTokens: 1, guidance });
      assert.ok(Math.abs(first.gate!.layers[0]!.score - expected) < 1e-4, `block ${layer}: ${first.gate!.layers[0]!.score} vs ${expected}`);
      // The cache holds the whole prompt: reuse must still leave its last k tokens to evaluate.
      const again = await context.generate(tokens, { maxTokens: 1, guidance });
      assert.is(again.timings.reusedTokenCount, tokens.length - k);
      assert.ok(Math.abs(again.gate!.layers[0]!.score - expected) < 1e-4, `again: ${again.gate!.layers[0]!.score} vs ${expected}`);
      // without guidance the reuse is as before: all but the last token
      const plain = await context.generate(tokens, { maxTokens: 1 });
      assert.is(plain.timings.reusedTokenCount, tokens.length - 1);
    }
  } finally {
    await context.dispose();
  }
});

pooled("one pass with a pooled gate equals the rollback path bit for bit", async () => {
  const model = await sharedModel(path);
  const { file } = await pooledVectors();
  const context = await model.createContext({ contextSize: 512, batchSize: 64, ubatchSize: 64, threads });
  try {
    const L = model.info.layerCount;
    const prompt = ia.renderPrompt(model, TOY_HARMFUL[0]!);
    for (const threshold of [-Infinity, Infinity]) {
      const g = (ia.resolveGuidance(model, { gate: file, gateLayers: [0], layers: [1, L - 1], threshold }) as unknown as ResolvedWithInternals).native;
      const run = async (onePass: boolean) => {
        context.clear();
        return contextInternals(context)._native.generate(new Uint32Array(prompt), {
          guidance: { ...g, onePass },
          turnStart: 0,
          maxTokens: 6,
          captureLogits: true,
        });
      };
      const single = await run(true);
      const rollback = await run(false);
      assert.is(single.gate!.open, threshold < 0);
      assert.equal(Array.from(single.tokens), Array.from(rollback.tokens));
      for (let i = 0; i < single.logits!.length; i++) assert.equal(Array.from(single.logits![i]!), Array.from(rollback.logits![i]!), `step ${i}`);
      assert.equal(single.gate!.scores, rollback.gate!.scores);
      if (threshold < 0) assert.is(single.evaluatedTokenCount * 2, rollback.evaluatedTokenCount);
    }
  } finally {
    await context.dispose();
  }
});

pooled("vector files: a pooled gate is version 2 and reads back; a last-token gate stays version 1; mismatches are refused", async () => {
  const model = await sharedModel(path);
  const { v, file } = await pooledVectors();
  const L = model.info.layerCount;
  const lastFile = join(scratch, "last.gguf");
  ia.writeVectorFile(
    lastFile,
    await ia.extractSafetyVectors(model, { harmful: TOY_HARMFUL, harmless: TOY_HARMLESS, gatePooling: "last", gateDirection: "mean-difference", threads }),
  );
  const last = ia.readVectorFile(lastFile, model);
  assert.is(last.formatVersion, 1);
  assert.is(last.gatePoolTokens, 1);
  assert.is(last.gateDirections, null);
  // the steering directions do not depend on the gate's pooling
  for (let l = 0; l < L; l++) assert.ok(maxRelativeDifference(v.directions[l]!, last.directions[l]!) < 1e-4, `block ${l}`);
  assert.throws(() => ia.resolveGuidance(model, { gate: file, gateLayers: [L - 1] }), /cannot read the last block/);
  try {
    ia.resolveGuidance(model, { gate: file, extraGates: [lastFile] });
    assert.unreachable("a gate file and an extra gate of different pooling");
  } catch (error) {
    assert.is((error as ia.LlamaError).code, "ERR_VECTOR_MISMATCH");
  }
  const resolved = ia.resolveGuidance(model, { gate: file }) as unknown as ResolvedWithInternals;
  assert.is(resolved.native.gatePoolTokens, v.gatePoolTokens);
  assert.equal(Array.from(resolved.native.gateDirections[0]!), Array.from(v.gateDirections![v.suggested.gateLayer]!));
});

pooled.run();
