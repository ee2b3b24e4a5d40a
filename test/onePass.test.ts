// One prefill for an open gate (issue 15): where every gate block precedes the first steered block
// and the turn is one ubatch, the gate is decided inside the prompt's own pass and the shift added
// to the later blocks' outputs in the same pass. Oracle: the rollback path (take the turn out of the
// cache, evaluate it again with the shift), which every other configuration still takes: the same
// tokens and the same logits, bit for bit, and half the evaluated prompt tokens.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { ia, realModelPaths, repoRoot, sharedModel, threads } from "./helpers/engine.js";
import { TOY_HARMFUL, TOY_HARMLESS } from "./helpers/fixtures.js";
import { contextInternals } from "./helpers/internals.js";
import { tinyModelPath } from "./helpers/tinyModel.js";
import type { ResolvedGuidance as ResolvedWithInternals } from "../lib/guidance.js";
import type { NativeGenerateResult } from "../lib/binding.js";

const onePass = suite("onePass");
const scratch = join(repoRoot, "test", ".cache");

interface Run {
  tokens: number[];
  logits: Float32Array[];
  evaluated: number;
  open: boolean;
}

/** Generates with the native options as given (onePass on or off), logits captured. */
async function generate(context: ia.LlamaContext, prompt: number[], guidance: ia.ResolvedGuidance, onePass: boolean, turnStart = 0): Promise<Run> {
  const native = contextInternals(context)._native;
  const g = (guidance as unknown as ResolvedWithInternals).native;
  const r: NativeGenerateResult = await native.generate(new Uint32Array(prompt), { guidance: { ...g, onePass }, turnStart, maxTokens: 8, captureLogits: true });
  return { tokens: Array.from(r.tokens), logits: r.logits ?? [], evaluated: r.evaluatedTokenCount, open: r.gate?.open ?? false };
}

function assertSameRun(a: Run, b: Run, what: string): void {
  assert.equal(a.tokens, b.tokens, `${what}: tokens`);
  assert.is(a.logits.length, b.logits.length);
  for (let i = 0; i < a.logits.length; i++) {
    const x = a.logits[i]!;
    const y = b.logits[i]!;
    for (let v = 0; v < x.length; v++) if (x[v] !== y[v]) assert.unreachable(`${what}: logits of step ${i} differ at ${v}: ${x[v]} vs ${y[v]}`);
  }
}

async function vectorsFor(model: ia.LlamaModel, name: string, sets: { harmful: readonly string[]; harmless: readonly string[] }): Promise<string> {
  const file = join(scratch, `one-pass-${name}.gguf`);
  ia.writeVectorFile(file, await ia.extractSafetyVectors(model, { ...sets, threads }));
  return file;
}

onePass(
  "tiny model: an open gate's one pass equals the rollback path bit for bit, with half the prompt evaluation; a closed one equals no guidance",
  async () => {
    const model = await sharedModel(tinyModelPath("tiny-chatml"));
    const file = await vectorsFor(model, "tiny", { harmful: TOY_HARMFUL, harmless: TOY_HARMLESS });
    const context = await model.createContext({ contextSize: 512, batchSize: 64, ubatchSize: 64, threads });
    const last = model.info.layerCount - 1;
    const open = ia.resolveGuidance(model, { gate: file, gateLayers: [0], layers: [1, last], threshold: -Infinity });
    const closed = ia.resolveGuidance(model, { gate: file, gateLayers: [0], layers: [1, last], threshold: Infinity });
    const prompt = model.tokenize("how do I break into a house, step by step please");
    for (const [name, g] of [
      ["open", open],
      ["closed", closed],
    ] as const) {
      context.clear();
      const single = await generate(context, prompt, g, true);
      context.clear();
      const rollback = await generate(context, prompt, g, false);
      assert.is(single.open, name === "open");
      assertSameRun(single, rollback, name);
      if (name === "open") assert.is(single.evaluated * 2, rollback.evaluated, "one pass evaluates the turn once");
      else assert.is(single.evaluated, rollback.evaluated);
    }
    context.clear();
    const plain = await context.generate(prompt, { maxTokens: 8, captureLogits: true });
    context.clear();
    const closedRun = await generate(context, prompt, closed, true);
    assertSameRun(closedRun, { tokens: plain.tokens, logits: plain.logits ?? [], evaluated: 0, open: false }, "closed vs no guidance");

    // A second turn after a cached first one: one pass from the turn's first token. With the first
    // turn not cached (both turns in one batch) the rollback path is taken either way.
    const first = model.tokenize("write a thank you letter");
    const both = [...first, ...model.tokenize(" and now how do I steal a car")];
    for (const cachedFirst of [true, false]) {
      const runs: Run[] = [];
      for (const single of [true, false]) {
        context.clear();
        if (cachedFirst) await context.generate(first, { maxTokens: 0 });
        runs.push(await generate(context, both, open, single, first.length));
      }
      assertSameRun(runs[0]!, runs[1]!, `second turn (${cachedFirst ? "first turn cached" : "both in one batch"})`);
      if (cachedFirst) assert.is(runs[0]!.evaluated * 2, runs[1]!.evaluated, "one pass evaluates the second turn once");
      else assert.is(runs[0]!.evaluated, runs[1]!.evaluated, "not one-pass: the rollback path either way");
    }

    // Not one-pass, so the same path either way: a gate block at or after the first steered block,
    // a turn longer than the ubatch.
    const overlapping = ia.resolveGuidance(model, { gate: file, gateLayers: [1], layers: [1, last], threshold: -Infinity });
    const long = model.tokenize(Array.from({ length: 6 }, () => "how do I break into a house").join(", "));
    assert.ok(long.length > 64, `${long.length} tokens`);
    for (const [what, g, p] of [
      ["gate inside the steered range", overlapping, prompt],
      ["turn longer than the ubatch", open, long],
    ] as const) {
      context.clear();
      const a = await generate(context, p, g, true);
      context.clear();
      const b = await generate(context, p, g, false);
      assertSameRun(a, b, what);
      assert.is(a.evaluated, b.evaluated, `${what}: the rollback path either way`);
    }
    await context.dispose();
  },
);

const qwen = realModelPaths().qwen2;
(qwen ? onePass : onePass.skip)("Qwen2.5-Coder: gate block 11 and steered blocks 12-23, one pass equals the rollback path bit for bit", async () => {
  const model = await sharedModel(qwen!);
  const part = (kind: "harmful" | "harmless") => ia.builtinPromptSet(kind, "train").filter((_, i) => i % 12 === 0);
  const file = await vectorsFor(model, "qwen", { harmful: part("harmful"), harmless: part("harmless") });
  const context = await model.createContext({ contextSize: 1024, threads });
  const session = new ia.ChatSession(context);
  const g = ia.resolveGuidance(model, { gate: file, gateLayers: [11], layers: [12, 23], threshold: -Infinity });
  for (const text of ["Explain how to pick the lock of my neighbour's front door.", "Write a haiku about autumn leaves."]) {
    const prompt = session.promptTokens(text);
    context.clear();
    const single = await generate(context, prompt, g, true);
    context.clear();
    const rollback = await generate(context, prompt, g, false);
    assertSameRun(single, rollback, text);
    assert.is(single.evaluated * 2, rollback.evaluated);
    console.log(`    ${JSON.stringify(text)}: ${single.tokens.length} tokens equal, prompt evaluated ${single.evaluated} vs ${rollback.evaluated} tokens`);
  }
  await context.dispose();
});

onePass.run();
