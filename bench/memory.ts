// npm run bench:memory: (1) the resident memory guidance adds (vector files, resolved shifts,
// capture buffers) on a context that generates with an open gate, against the same context
// generating unguided; (2) 1,000 create-context / generate / dispose cycles with guidance, with the
// RSS sampled every 100 cycles: after the first 100 (allocator warm-up) it must not grow by more
// than 5%. Usage: npm run bench:memory -- [--model <gguf>] [--cycles 1000] [--threads 2]
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import * as ia from "../test/helpers/api.js";
import { realModelPaths, repoRoot } from "../test/helpers/engine.js";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    cycles: { type: "string", default: "1000" },
    threads: { type: "string", default: String(Math.min(2, os.availableParallelism())) },
    out: { type: "string", default: join(repoRoot, "bench-results", "memory.json") },
  },
});
const modelPath = values.model ?? realModelPaths().qwen2;
if (!modelPath) throw new Error("no model: pass --model or run `npm run models`");
const cycles = Number(values.cycles);
const threads = Number(values.threads);
const mib = (bytes: number) => bytes / 2 ** 20;
const rss = () => {
  globalThis.gc?.();
  return process.memoryUsage().rss;
};

const model = await ia.LlamaModel.load(modelPath);
const vectorFile = join(repoRoot, "bench-results", "memory-vectors.gguf");
mkdirSync(dirname(vectorFile), { recursive: true });
ia.writeVectorFile(
  vectorFile,
  await ia.extractSafetyVectors(model, {
    harmful: ia.builtinPromptSet("harmful", "validation"),
    harmless: ia.builtinPromptSet("harmless", "validation"),
    threads,
  }),
);
const prompt = "Explain how to pick the lock of a neighbour's front door.";

// (1) RSS added by guidance, on one context: unguided turns first, then guided ones (gate forced open).
const context = await model.createContext({ contextSize: 1024, threads });
for (let i = 0; i < 3; i++) await new ia.ChatSession(context).prompt(prompt, { maxTokens: 16 });
const beforeGuidance = rss();
const guidance = ia.resolveGuidance(model, { gate: vectorFile, threshold: -Infinity, mode: "steer" });
for (let i = 0; i < 3; i++) await new ia.ChatSession(context).prompt(prompt, { maxTokens: 16, guidance });
const afterGuidance = rss();
await context.dispose();

// (2) cycles
const samples: Array<{ cycle: number; rssMiB: number }> = [];
const t0 = performance.now();
for (let cycle = 1; cycle <= cycles; cycle++) {
  const ctx = await model.createContext({ contextSize: 512, threads });
  await new ia.ChatSession(ctx).prompt(prompt, { maxTokens: 4, guidance });
  await ctx.dispose();
  if (cycle % 100 === 0) {
    samples.push({ cycle, rssMiB: mib(rss()) });
    console.error(`[memory] cycle ${cycle}: RSS ${samples.at(-1)!.rssMiB.toFixed(1)} MiB`);
  }
}
const seconds = (performance.now() - t0) / 1000;
const first = samples[0]!;
const last = samples.at(-1)!;
const growth = (last.rssMiB - first.rssMiB) / first.rssMiB;
const result = {
  model: modelPath,
  threads,
  guidanceRssMiB: mib(afterGuidance - beforeGuidance),
  rssBeforeGuidanceMiB: mib(beforeGuidance),
  cycles,
  seconds,
  samples,
  growthAfterWarmup: growth,
  withinFivePercent: Math.abs(growth) <= 0.05,
  node: process.version,
  date: new Date().toISOString(),
};
mkdirSync(dirname(values.out!), { recursive: true });
writeFileSync(values.out!, JSON.stringify(result, null, 2) + "\n");
console.log(`model ${modelPath.split("/").pop()}, ${threads} threads`);
console.log(
  `RSS added by guidance (vectors, shifts, buffers; open gate): ${result.guidanceRssMiB.toFixed(2)} MiB on ${result.rssBeforeGuidanceMiB.toFixed(1)} MiB`,
);
console.log(
  `${cycles} create-context/generate(guided, 4 tokens)/dispose cycles in ${seconds.toFixed(0)} s: RSS ${first.rssMiB.toFixed(1)} MiB at cycle ${first.cycle}, ${last.rssMiB.toFixed(1)} MiB at cycle ${last.cycle} (${(100 * growth).toFixed(2)}%; ${result.withinFivePercent ? "within" : "NOT within"} 5%)`,
);
await model.dispose();
