// npm run bench: `inferaligner bench` on Qwen2.5-Coder-0.5B-Instruct (or --model), writing bench-results/latest.json.
// Usage: npm run bench -- [--model <gguf>] [--reps 5] [--threads 2] [--tokens 64] [--llama-bench <path>]
//        [--compare-binary <label>=<inferaligner.node>] [--out bench-results/latest.json]
// Without --llama-bench it uses vendor/build-llama-bench/bin/llama-bench when that exists
// (node scripts/build-llama-bench.mjs), and without --compare-binary the other build mode's addon
// when build/compare/inferaligner.node exists.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { formatBenchTable, runBench } from "../dist/bench/runBench.js";
import { realModelPaths, repoRoot } from "../test/helpers/engine.js";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    reps: { type: "string", default: "5" },
    threads: { type: "string", default: String(Math.min(2, os.availableParallelism())) },
    tokens: { type: "string", default: "64" },
    "llama-bench": { type: "string" },
    "compare-binary": { type: "string" },
    out: { type: "string", default: join(repoRoot, "bench-results", "latest.json") },
  },
});
const modelPath = values.model ?? realModelPaths().qwen2;
if (!modelPath) throw new Error("no model: pass --model or run `npm run models`");
const defaultLlamaBench = join(repoRoot, "vendor", "build-llama-bench", "bin", "llama-bench");
const llamaBench = values["llama-bench"] ?? (existsSync(defaultLlamaBench) ? defaultLlamaBench : undefined);
const compareSpec =
  values["compare-binary"] ??
  (existsSync(join(repoRoot, "build", "compare", "inferaligner.node")) ? `compare=${join(repoRoot, "build", "compare", "inferaligner.node")}` : undefined);
const compare = compareSpec ? /^([\w.-]+)=(.+)$/.exec(compareSpec) : null;

// The folder is git-ignored: a fresh clone lacks it, and runBench writes its vectors there first.
mkdirSync(join(repoRoot, "bench-results"), { recursive: true });
const result = await runBench({
  modelPath,
  reps: Number(values.reps),
  threads: Number(values.threads),
  genTokens: Number(values.tokens),
  scratchVectorFile: join(repoRoot, "bench-results", "bench-vectors.gguf"),
  ...(llamaBench ? { llamaBench } : {}),
  ...(compare ? { compareBinary: { label: compare[1]!, path: compare[2]! } } : {}),
  log: (line) => console.error(line),
});
mkdirSync(dirname(values.out!), { recursive: true });
writeFileSync(values.out!, JSON.stringify(result, null, 2) + "\n");
console.log(formatBenchTable(result));
console.log(`(wrote ${values.out})`);
process.exit(0);
