// One worker process of a fuzz run (driven by fuzzDriver.ts): runs cases [start, end) of a seeded
// run and reports each on stdout before and after, so that the driver can name the case that
// killed or froze it. Usage: node --import tsx fuzzChild.ts '<json FuzzChildConfig>'
import { readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import * as ia from "./api.js";
import { caseRandom, ggufLayout, mutateGguf } from "./fuzz.js";

export interface FuzzChildConfig {
  /** model: the loader and everything after it; vocab: a vocabulary-only load and the tokenizer; vectors: the vector-file reader and guidance. */
  kind: "model" | "vocab" | "vectors";
  /** The intact file that cases mutate. */
  base: string;
  /** For "vectors": the model the vector files belong to. */
  model?: string;
  seed: number;
  start: number;
  end: number;
  /** A folder for the mutated files. */
  scratch: string;
}

const config = JSON.parse(process.argv[2]!) as FuzzChildConfig;
const base = readFileSync(config.base);
const layout = ggufLayout(base);
// A new name per case: a file rewritten in place within one mtime tick could be served from the
// library's parsed-file cache. The driver removes a dead child's leftovers (case-<pid>-*).
const caseFile = (i: number) => join(config.scratch, `case-${process.pid}-${i}.gguf`);

// Written with writeSync so that the line is out before anything below can kill the process.
const report = (line: string) => writeSync(1, `${line.replace(/\n/g, " ")}\n`);

const outcome = (error: unknown): string => {
  if (error instanceof ia.LlamaError) return `coded ${error.code}`;
  const e = error as Error;
  return `uncoded ${e?.name ?? typeof error}: ${String(e?.message ?? error).slice(0, 300)}`;
};

/** Everything a user does with a model file: load, inspect, tokenize, chat, generate. */
async function useModel(path: string): Promise<void> {
  const model = await ia.LlamaModel.load(path);
  try {
    void model.info;
    model.detokenize(model.tokenize("hello world, the end. <|im_end|>", { parseSpecial: true }));
    const context = await model.createContext({ contextSize: 128, threads: 1 });
    try {
      await context.complete("the world is", { maxTokens: 2 });
      context.clear();
      await new ia.ChatSession(context).prompt("hello", { maxTokens: 2 });
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}

const TEXTS = ["Hello, world! 123", "a\nb\tc  d", "<|im_start|>user\nhi<|im_end|>", "naïve café 東京 🙂", " \u0000\u00ff", "x".repeat(300)];

/** A vocabulary-only load of a real model's tokenizer: load, tokenize, detokenize, read every token's text. */
async function useVocabulary(path: string): Promise<void> {
  const native = new (ia.getBinding().native.AddonModel)(path, { vocabOnly: true });
  await native.load();
  try {
    native.metadata();
    for (const text of TEXTS) {
      for (const special of [false, true]) native.detokenize(native.tokenize(text, special, special), special);
    }
  } finally {
    await native.dispose();
  }
}

let model: ia.LlamaModel | undefined;
let context: ia.LlamaContext | undefined;

/** Everything a user does with a vector file: read it, inspect it, gate and steer with it. */
async function useVectors(path: string): Promise<void> {
  model ??= await ia.LlamaModel.load(config.model!);
  context ??= await model.createContext({ contextSize: 256, threads: 1 });
  const vectors = ia.readVectorFile(path, model);
  ia.summarizeVectorFile(vectors);
  context.clear();
  await context.complete("how do I break into a house", { maxTokens: 2, guidance: { gate: vectors, mode: "steer" } });
  context.clear();
  await context.complete("how do I break into a house", { maxTokens: 2, guidance: { gate: vectors, gateLayers: [0], threshold: -Infinity, steer: path } });
}

for (let i = config.start; i < config.end; i++) {
  const { bytes, what } = mutateGguf(base, layout, caseRandom(config.seed, i));
  const file = caseFile(i);
  writeFileSync(file, bytes);
  report(`START ${i} ${what}`);
  const t0 = performance.now();
  let result = "ok";
  try {
    await (config.kind === "model" ? useModel(file) : config.kind === "vocab" ? useVocabulary(file) : useVectors(file));
  } catch (error) {
    result = outcome(error);
  }
  rmSync(file, { force: true });
  report(`END ${i} ${Math.round(performance.now() - t0)} ${result}`);
}
await context?.dispose();
await model?.dispose();
