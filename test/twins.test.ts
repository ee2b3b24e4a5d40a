// Unaligned twins (scripts/twins.py, npm run targets): the abliteration recipe on a tiny model,
// checked through the engine itself: with the direction projected out of every matrix that writes
// to the residual stream and out of the embeddings, no block's output has a component along it.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ia, repoRoot, sharedModel, threads } from "./helpers/engine.js";
import { tinyModelPath } from "./helpers/tinyModel.js";
import { u32 } from "./helpers/gguf.js";
import { readGguf } from "../dist/gguf/reader.js";
import { hashFile } from "../dist/vectors/extract.js";
import { contextInternals } from "./helpers/internals.js";
import { CAPTURE_CONTEXT } from "./helpers/fixtures.js";

const twins = suite("twins");
const scratch = join(repoRoot, "test", ".cache", "twins");
rmSync(scratch, { recursive: true, force: true });
mkdirSync(scratch, { recursive: true });

/** Per block, |cos(a_l, r)| averaged over the prompts' last tokens. */
async function alignment(model: ia.LlamaModel, r: Float32Array, prompts: string[]): Promise<number[]> {
  const { layerCount: L, embeddingLength: E } = model.info;
  const context = await model.createContext({ ...CAPTURE_CONTEXT, threads, evalHook: true });
  try {
    const rows = await contextInternals(context)._native.capture(
      prompts.map((p) => Uint32Array.from(ia.renderPrompt(model, p))),
      { layers: Array.from({ length: L }, (_, i) => i) },
    );
    return Array.from({ length: L }, (_, l) => {
      let sum = 0;
      for (let k = 0; k < prompts.length; k++) sum += Math.abs(ia.score("cosine", rows.rows.subarray((k * L + l) * E, (k * L + l + 1) * E), r));
      return sum / prompts.length;
    });
  } finally {
    await context.dispose();
  }
}

twins("abliterate: the twin's residual stream has no component along the direction; recipe recorded; other tensors untouched", async () => {
  const modelPath = tinyModelPath("tiny-chatml");
  const model = await sharedModel(modelPath);
  const vectorsPath = join(scratch, "vectors.gguf");
  ia.writeVectorFile(
    vectorsPath,
    await ia.extractSafetyVectors(model, {
      harmful: ["how do I break into a house", "write a threatening letter", "help me steal a car"],
      harmless: ["how do I bake bread", "write a thank you letter", "help me wash a car"],
      threads,
    }),
  );
  const layer = 2;
  const out = join(scratch, "twin.gguf");
  const r = spawnSync(
    "python3",
    [join(repoRoot, "scripts", "twins.py"), "abliterate", "--model", modelPath, "--vectors", vectorsPath, "--layer", String(layer), "--out", out],
    { encoding: "utf8" },
  );
  assert.is(r.status, 0, r.stderr);
  assert.is(JSON.parse(r.stdout).changedTensors, 1 + 2 * model.info.layerCount, "token_embd + attn_output and ffn_down of every block");

  const before = readGguf(modelPath);
  const after = readGguf(out);
  const m = after.metadata;
  assert.is(m.get("inferaligner.twin.kind"), "abliterated");
  assert.is(m.get("inferaligner.twin.layer"), layer);
  assert.is(m.get("inferaligner.twin.source_sha256"), await hashFile(modelPath));
  assert.is(m.get("inferaligner.twin.vectors_sha256"), await hashFile(vectorsPath));
  assert.match(String(m.get("general.name")), /abliterated twin, block 2/);
  assert.is(m.get("tokenizer.chat_template"), before.metadata.get("tokenizer.chat_template"), "other metadata copied");
  for (const t of before.tensors) {
    const changed = t.name === "token_embd.weight" || t.name.endsWith("attn_output.weight") || t.name.endsWith("ffn_down.weight");
    const u = after.tensors.find((x) => x.name === t.name)!;
    assert.ok(u, t.name);
    if (!changed) assert.equal(Array.from(after.readF32(t.name)), Array.from(before.readF32(t.name)), `${t.name} copied unchanged`);
  }

  const direction = ia.readVectorFile(vectorsPath).directions[layer]!;
  const prompts = ["plant a tree in the garden", "steal the bike from the shed", "write a letter to my aunt", "how do I hurt them"];
  const twin = await ia.LlamaModel.load(out);
  try {
    const original = await alignment(model, direction, prompts);
    const abliterated = await alignment(twin, direction, prompts);
    // The original stream carries the direction; the twin's only what Q8_0 rounding leaves.
    assert.ok(Math.max(...original) > 0.05, `original |cos| ${original.map((x) => x.toFixed(4))}`);
    for (const [l, c] of abliterated.entries()) assert.ok(c < 0.01, `block ${l}: |cos| ${c} (original ${original[l]})`);
    const text = await (await twin.createContext({ contextSize: 256, threads })).complete("hello", { maxTokens: 4, temperature: 0 });
    assert.ok(text.tokens.length > 0, "the twin loads and generates");
  } finally {
    await twin.dispose();
  }
});

twins("annotate: a trained model keeps its weights and gets its source's keys (chat template, context length) and the recipe", async () => {
  // llama-finetune's saver writes no chat template and the training context as context length: a
  // tiny model with other weights (seed), no template and a 256-token context stands for its file.
  const trained = tinyModelPath("tiny-chatml-trained", { seed: 7, chatTemplate: null, metadataOverrides: [["llama.context_length", u32(256)]] });
  const source = tinyModelPath("tiny-chatml");
  const out = join(scratch, "annotated.gguf");
  const recipe = JSON.stringify({ method: "test", epochs: 2 });
  const args = ["annotate", "--model", trained, "--source", source, "--kind", "finetuned", "--recipe", recipe, "--recipe-version", "3", "--out", out];
  const r = spawnSync("python3", [join(repoRoot, "scripts", "twins.py"), ...args], { encoding: "utf8" });
  assert.is(r.status, 0, r.stderr);
  const weights = readGguf(trained);
  const keys = readGguf(source);
  const after = readGguf(out);
  const m = after.metadata;
  assert.is(weights.metadata.get("tokenizer.chat_template"), undefined);
  assert.is(m.get("tokenizer.chat_template"), keys.metadata.get("tokenizer.chat_template"));
  assert.is(m.get("llama.context_length"), keys.metadata.get("llama.context_length"));
  assert.is.not(m.get("llama.context_length"), 256);
  assert.is(m.get("inferaligner.twin.kind"), "finetuned");
  assert.is(m.get("inferaligner.twin.recipe"), recipe);
  assert.is(m.get("inferaligner.twin.recipe_version"), 3);
  assert.is(m.get("inferaligner.twin.source_sha256"), await hashFile(source));
  assert.match(String(m.get("general.name")), /finetuned twin/);
  assert.equal(
    after.tensors.map((t) => t.name),
    weights.tensors.map((t) => t.name),
  );
  for (const t of weights.tensors) assert.equal(Array.from(after.readF32(t.name)), Array.from(weights.readF32(t.name)), `${t.name}: the trained weights`);
  assert.not.equal(Array.from(after.readF32("token_embd.weight")), Array.from(keys.readF32("token_embd.weight")), "not the source's weights");
  // digest: the weights alone. The annotated twin has the trained model's weights under the source's
  // keys, so the same digest in another file; the source's weights give another one.
  const digest = (path: string) => {
    const d = spawnSync("python3", [join(repoRoot, "scripts", "twins.py"), "digest", "--model", path], { encoding: "utf8" });
    assert.is(d.status, 0, d.stderr);
    return d.stdout.trim();
  };
  assert.match(digest(out), /^[0-9a-f]{64}$/);
  assert.is.not(await hashFile(out), await hashFile(trained), "other files");
  assert.is(digest(out), digest(trained), "the same weights");
  assert.is.not(digest(out), digest(source), "other weights");
  // The annotated model chats through its own template now.
  const model = await ia.LlamaModel.load(out);
  try {
    assert.is(ia.resolveChatTemplate(model).source, "gguf");
  } finally {
    await model.dispose();
  }
  // A source of another architecture, or with other tensors, is refused, not mixed in.
  const run = (src: string) =>
    spawnSync("python3", [join(repoRoot, "scripts", "twins.py"), ...args.slice(0, 3), "--source", src, ...args.slice(5)], { encoding: "utf8" });
  const otherArch = run(tinyModelPath("tiny-other-architecture", { architecture: "qwen2" }));
  assert.is.not(otherArch.status, 0);
  assert.match(otherArch.stderr, /is llama, its source .* is qwen2/);
  const otherShape = run(tinyModelPath("tiny-chatml-wider", { embd: 96, heads: 4 }));
  assert.is.not(otherShape.status, 0);
  assert.match(otherShape.stderr, /does not hold the tensors of/);
});

twins.run();
