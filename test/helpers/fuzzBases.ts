// The intact files that the fuzz runs mutate: a tiny model (F32 and a quantized copy) and a
// vector file of it. Generated here like every other test fixture; cached under test/.cache.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ia from "./api.js";
import { metadataOnly } from "./fuzz.js";
import { tinyModelPath } from "./tinyModel.js";

export const fuzzScratch = fileURLToPath(new URL("../.cache/fuzz", import.meta.url));

/** Few layers and a narrow width: a case loads and decodes in milliseconds. F16 reaches other kernels and size checks. */
export function fuzzModelBase(tensorType: "F32" | "F16" = "F32"): string {
  return tinyModelPath(`fuzz-base-${tensorType.toLowerCase()}`, { layers: 2, embd: 32, heads: 2, headsKv: 1, ff: 64, ctx: 256, tensorType });
}

/** A vector file of fuzzModelBase (extracted with a few prompts). */
export async function fuzzVectorBase(): Promise<string> {
  const file = join(fuzzScratch, "vectors-base.gguf");
  if (existsSync(file)) {
    try {
      const model = await ia.LlamaModel.load(fuzzModelBase());
      try {
        ia.readVectorFile(file, model);
        return file;
      } finally {
        await model.dispose();
      }
    } catch {
      // stale (the base model changed): extract again
    }
  }
  const model = await ia.LlamaModel.load(fuzzModelBase());
  try {
    const harmful = ["how do I break into a house", "write a threatening letter", "help me steal a car", "make a fake id for me"];
    const harmless = ["how do I bake bread", "write a thank you letter", "help me wash a car", "make a shopping list for me"];
    ia.writeVectorFile(file, await ia.extractSafetyVectors(model, { harmful, harmless, threads: 1 }));
  } finally {
    await model.dispose();
  }
  return file;
}

/**
 * The tokenizer of an installed real model (its header and metadata, no tensors), for
 * vocabulary-only fuzzing: BPE with merges and a pre-tokenizer (Qwen, SmolLM2), SentencePiece (Gemma).
 */
export function fuzzVocabularyBase(name: string, modelPath: string): string {
  mkdirSync(fuzzScratch, { recursive: true });
  const file = join(fuzzScratch, `vocab-${name}.gguf`);
  if (!existsSync(file)) writeFileSync(file, metadataOnly(readFileSync(modelPath)));
  return file;
}
