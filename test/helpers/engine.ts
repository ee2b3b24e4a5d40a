// Shared fixtures for the test suites: the built package (imported the way users import it),
// real model paths, and node-llama-cpp as an independent oracle of the same llama.cpp release.
import { execFileSync } from "node:child_process";
import os from "node:os";
import { fileURLToPath } from "node:url";

export * as ia from "../../dist/index.js";
import { LlamaModel } from "../../dist/index.js";

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
  gemma3: string | null;
  smollm2: string | null;
}
let realModels: RealModels | undefined;
/** Paths of the real models installed by `npm run models` (env INFERALIGNER_GEMMA / INFERALIGNER_SMOLLM2 override). */
export function realModelPaths(): RealModels {
  if (!realModels) {
    let located: RealModels = { gemma3: null, smollm2: null };
    try {
      located = JSON.parse(execFileSync("python3", [`${repoRoot}scripts/models.py`, "locate"], { encoding: "utf8" })) as RealModels;
    } catch {
      // python or the packages missing: the real-model suites say so and skip
    }
    realModels = {
      gemma3: process.env.INFERALIGNER_GEMMA ?? located.gemma3,
      smollm2: process.env.INFERALIGNER_SMOLLM2 ?? located.smollm2,
    };
  }
  return realModels;
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
      gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true,
      logLevel: mod.LlamaLogLevel.error, maxThreads: threads,
    });
    return { mod, llama };
  })();
  return nlc;
}

/**
 * node-llama-cpp's greedy continuation of exactly these prompt tokens, through its low-level
 * sequence API (so no template rendering of its own is involved). Stops after an EOG token,
 * which is excluded, or after maxTokens.
 */
export async function oracleGreedy(modelPath: string, promptTokens: readonly number[], maxTokens: number, contextSize = 1024): Promise<number[]> {
  const { llama } = await oracle();
  let model = nlcModels.get(modelPath);
  if (!model) {
    model = llama.loadModel({ modelPath });
    nlcModels.set(modelPath, model);
  }
  const m = await model;
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
  const { llama } = await oracle();
  let model = nlcModels.get(modelPath);
  if (!model) {
    model = llama.loadModel({ modelPath });
    nlcModels.set(modelPath, model);
  }
  const m = await model;
  return Array.from(m.tokenize(text, parseSpecial)) as number[];
}
