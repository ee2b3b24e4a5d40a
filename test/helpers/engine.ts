// Shared fixtures for the test suites: the built package (imported the way users import it),
// real model paths, and node-llama-cpp as an independent oracle of the same llama.cpp release.
import { execFileSync } from "node:child_process";
import * as assert from "uvu/assert";
import os from "node:os";
import { fileURLToPath } from "node:url";

import * as ia from "./api.js";
import { LlamaModel } from "../../dist/index.js";
export { ia };

export const threads = Math.min(2, os.availableParallelism());
export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

const modelCache = new Map<string, Promise<LlamaModel>>();
/** One loaded model per path for the whole run (suites share it; they must not dispose it). */
export function sharedModel(path: string): Promise<LlamaModel> {
  let p = modelCache.get(path);
  if (!p) {
    p = LlamaModel.load(path);
    modelCache.set(path, p);
  }
  return p;
}

export interface RealModels {
  qwen2: string | null;
  gemma3: string | null;
  smollm2: string | null;
}
let realModels: RealModels | undefined;
/** Paths of the real models installed by `npm run models` (env INFERALIGNER_QWEN / INFERALIGNER_GEMMA / INFERALIGNER_SMOLLM2 override). */
export function realModelPaths(): RealModels {
  if (!realModels) {
    let located: RealModels = { qwen2: null, gemma3: null, smollm2: null };
    try {
      located = JSON.parse(execFileSync("python3", [`${repoRoot}scripts/models.py`, "locate"], { encoding: "utf8" })) as RealModels;
    } catch {
      // python or the packages missing: the real-model suites say so and skip
    }
    realModels = {
      qwen2: process.env.INFERALIGNER_QWEN ?? located.qwen2,
      gemma3: process.env.INFERALIGNER_GEMMA ?? located.gemma3,
      smollm2: process.env.INFERALIGNER_SMOLLM2 ?? located.smollm2,
    };
  }
  return realModels;
}

/**
 * The suite's test function when the model is installed, else its `skip`: the runner then counts the
 * test as skipped (its closing line says how many), never as passed.
 */
export function ifInstalled<T extends { skip: unknown }>(test: T, modelPath: string | null): T {
  return (modelPath ? test : test.skip) as T;
}

// ---- node-llama-cpp oracle ----
type NlcModule = typeof import("node-llama-cpp");
type NlcLlama = Awaited<ReturnType<NlcModule["getLlama"]>>;
type NlcModel = Awaited<ReturnType<NlcLlama["loadModel"]>>;

let nlc: Promise<{ mod: NlcModule; llama: NlcLlama }> | undefined;
const nlcModels = new Map<string, Promise<NlcModel>>();

async function oracle() {
  nlc ??= (async () => {
    const mod = await import("node-llama-cpp");
    // Its prebuilt CPU binaries, no build, no download; threads as ours (its default oversubscribes 2 cores).
    const llama = await mod.getLlama({
      gpu: false,
      build: "never",
      usePrebuiltBinaries: true,
      skipDownload: true,
      logLevel: mod.LlamaLogLevel.error,
      maxThreads: threads,
    });
    return { mod, llama };
  })();
  return nlc;
}

async function oracleModel(modelPath: string): Promise<NlcModel> {
  const { llama } = await oracle();
  let model = nlcModels.get(modelPath);
  if (!model) {
    model = llama.loadModel({ modelPath });
    nlcModels.set(modelPath, model);
  }
  return model;
}

/**
 * node-llama-cpp's greedy continuation of exactly these prompt tokens, through its low-level
 * sequence API (so no template rendering of its own is involved). Stops after an EOG token,
 * which is excluded, or after maxTokens.
 */
export async function oracleGreedy(modelPath: string, promptTokens: readonly number[], maxTokens: number, contextSize = 1024): Promise<number[]> {
  const m = await oracleModel(modelPath);
  const context = await m.createContext({ contextSize, threads });
  try {
    const sequence = context.getSequence();
    const out: number[] = [];
    for await (const token of sequence.evaluate(promptTokens as unknown as Parameters<typeof sequence.evaluate>[0], { temperature: 0, yieldEogToken: true })) {
      if (m.isEogToken(token)) break;
      out.push(token as unknown as number);
      if (out.length >= maxTokens) break;
    }
    return out;
  } finally {
    await context.dispose();
  }
}

/** node-llama-cpp's tokenization of text (special-token text parsed), with BOS prepended as the model wants. */
export async function oracleTokenize(modelPath: string, text: string, parseSpecial: boolean): Promise<number[]> {
  const m = await oracleModel(modelPath);
  return Array.from(m.tokenize(text, parseSpecial)) as number[];
}

/**
 * Our greedy tokens must equal node-llama-cpp's. With the prebuilt libraries both bindings run the
 * very same llama.cpp binaries, so equality is exact. A source build compiles llama.cpp with other
 * kernels (-march=native, no AMX), whose rounding differs from the prebuilt ones; there a
 * divergence is accepted only where our own logits show a near-tie between the two tokens.
 */
export async function expectOracleGreedy(
  modelPath: string,
  result: { tokens: number[]; promptTokens: number[]; logits?: Float32Array[] },
  maxTokens: number,
  contextSize = 1024,
  nearTie = 0.5,
): Promise<void> {
  const theirs = await oracleGreedy(modelPath, result.promptTokens, maxTokens, contextSize);
  const ours = result.tokens;
  if (JSON.stringify(ours) === JSON.stringify(theirs)) return;
  const { native } = ia.getBinding();
  if (native.systemInfo().buildMode !== "source" || !result.logits) {
    assert.equal(ours, theirs, "greedy tokens differ from node-llama-cpp's");
    return;
  }
  let i = 0;
  while (i < ours.length && i < theirs.length && ours[i] === theirs[i]) i++;
  const row = result.logits[i]!;
  const model = await sharedModel(modelPath);
  const pick = (t: number | undefined) => (t === undefined ? Math.max(...model.info.specialTokens.endOfGeneration.map((e) => row[e]!)) : row[t]!);
  const gap = pick(ours[i]) - pick(theirs[i]);
  console.log(`    source build: diverges from node-llama-cpp at token ${i} of ${Math.max(ours.length, theirs.length)}, logit gap ${gap.toFixed(4)}`);
  assert.ok(i >= 1, "the first token must agree");
  assert.ok(gap >= 0 && gap <= nearTie, `divergence at token ${i} is not a near-tie (gap ${gap})`);
}
