// npm run fuzz: a long seeded fault-injection run over the model loader and the vector-file reader.
// Usage: npm run fuzz -- [--cases 2000] [--seed 1] [--kind model|model-f16|vectors|vocab|all]
// vocab runs on each installed real model's tokenizer (npm run models), a tenth of --cases each.
import { mkdirSync } from "node:fs";
import { parseArgs } from "node:util";
import { realModelPaths } from "./engine.js";
import { fuzzModelBase, fuzzScratch, fuzzVectorBase, fuzzVocabularyBase } from "./fuzzBases.js";
import { runFuzz, type FuzzSummary } from "./fuzzDriver.js";

const { values } = parseArgs({
  options: {
    cases: { type: "string", default: "2000" },
    seed: { type: "string", default: "1" },
    kind: { type: "string", default: "all" },
  },
});
const cases = Number(values.cases);
const seed = Number(values.seed);
if (!Number.isSafeInteger(cases) || cases < 1 || !Number.isSafeInteger(seed)) throw new RangeError("--cases and --seed take integers");
const KINDS = ["model", "model-f16", "vectors", "vocab"] as const;
type Kind = (typeof KINDS)[number];
if (values.kind !== "all" && !KINDS.includes(values.kind as Kind)) throw new RangeError(`--kind takes ${KINDS.join(", ")} or all`);
const kinds: readonly Kind[] = values.kind === "all" ? KINDS : [values.kind as Kind];
mkdirSync(fuzzScratch, { recursive: true });

const runs: Array<{ label: string; kind: "model" | "vocab" | "vectors"; base: string; cases: number }> = [];
for (const kind of kinds) {
  if (kind === "vocab") {
    for (const [name, path] of Object.entries(realModelPaths())) {
      if (path && path.endsWith(".gguf")) runs.push({ label: `vocab ${name}`, kind, base: fuzzVocabularyBase(name, path), cases: Math.ceil(cases / 10) });
    }
  } else {
    const base = kind === "vectors" ? await fuzzVectorBase() : fuzzModelBase(kind === "model-f16" ? "F16" : "F32");
    runs.push({ label: kind, kind: kind === "vectors" ? "vectors" : "model", base, cases });
  }
}

let failed = 0;
for (const { label, kind, base, cases } of runs) {
  const started = Date.now();
  const summary: FuzzSummary = await runFuzz({
    kind,
    seed,
    cases,
    base,
    scratch: fuzzScratch,
    model: fuzzModelBase(),
    onProgress: (done, s) => {
      if (done % 250 === 0)
        process.stderr.write(`${label}: ${done}/${cases}, crashes ${s.crashes.length}, hangs ${s.hangs.length}, uncoded ${s.uncoded.length}\n`);
    },
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  console.log(
    `${label} (seed ${seed}): ${summary.cases} cases in ${seconds} s: ${summary.ok} loaded and ran, ` +
      `${Object.entries(summary.codes)
        .map(([c, n]) => `${n} ${c}`)
        .join(", ")}; ` +
      `crashes ${summary.crashes.length}, hangs ${summary.hangs.length}, uncoded errors ${summary.uncoded.length}; slowest case ${summary.slowestMs} ms`,
  );
  for (const [label, list] of [
    ["crash", summary.crashes],
    ["hang", summary.hangs],
    ["uncoded", summary.uncoded],
  ] as const) {
    for (const f of list) console.log(`  ${label} #${f.index} (${f.what}): ${f.detail}`);
  }
  failed += summary.crashes.length + summary.hangs.length + summary.uncoded.length;
}
process.exitCode = failed > 0 ? 1 : 0;
