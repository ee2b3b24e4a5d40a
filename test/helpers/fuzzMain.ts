// npm run fuzz: a long seeded fault-injection run over the model loader and the vector-file reader.
// Usage: npm run fuzz -- [--cases 2000] [--seed 1] [--kind model|model-f16|vectors|all]
import { mkdirSync } from "node:fs";
import { parseArgs } from "node:util";
import { fuzzModelBase, fuzzScratch, fuzzVectorBase } from "./fuzzBases.js";
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
const KINDS = ["model", "model-f16", "vectors"] as const;
type Kind = (typeof KINDS)[number];
if (values.kind !== "all" && !KINDS.includes(values.kind as Kind)) throw new RangeError(`--kind takes ${KINDS.join(", ")} or all`);
const kinds: readonly Kind[] = values.kind === "all" ? KINDS : [values.kind as Kind];
mkdirSync(fuzzScratch, { recursive: true });

let failed = 0;
for (const kind of kinds) {
  const started = Date.now();
  const summary: FuzzSummary = await runFuzz({
    kind: kind === "vectors" ? "vectors" : "model", seed, cases, scratch: fuzzScratch,
    base: kind === "vectors" ? await fuzzVectorBase() : fuzzModelBase(kind === "model-f16" ? "F16" : "F32"),
    model: fuzzModelBase(),
    onProgress: (done, s) => {
      if (done % 250 === 0) process.stderr.write(`${kind}: ${done}/${cases}, crashes ${s.crashes.length}, hangs ${s.hangs.length}, uncoded ${s.uncoded.length}\n`);
    },
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  console.log(`${kind} (seed ${seed}): ${summary.cases} cases in ${seconds} s: ${summary.ok} loaded and ran, ` +
    `${Object.entries(summary.codes).map(([c, n]) => `${n} ${c}`).join(", ")}; ` +
    `crashes ${summary.crashes.length}, hangs ${summary.hangs.length}, uncoded errors ${summary.uncoded.length}; slowest case ${summary.slowestMs} ms`);
  for (const [label, list] of [["crash", summary.crashes], ["hang", summary.hangs], ["uncoded", summary.uncoded]] as const) {
    for (const f of list) console.log(`  ${label} #${f.index} (${f.what}): ${f.detail}`);
  }
  failed += summary.crashes.length + summary.hangs.length + summary.uncoded.length;
}
process.exitCode = failed > 0 ? 1 : 0;
