// npm run bench:gate: how well can the guidance gate separate harmful from harmless prompts on this
// model, at best? For each vector source (the dataset calibration split the vector issue names, and
// the package's built-in sets) and each layer, it reports
//   - the validation accuracy at the calibrated threshold (best balanced accuracy on the
//     calibration prompts: what `extract` stores and `inspect` shows) and the ROC AUC, on
//     harmful_val and the first 39 harmless_val prompts;
//   - the open rates at the default threshold (what `extract` now stores: the lowest that opens at
//     most --false-open-budget of the harmless calibration and validation prompts) on harmful_val,
//     on 200 further harmless_val prompts, on the AdvBench rows not in harmful_train and on
//     XSTest's safe and unsafe prompts (none of which played a part in choosing anything);
//   - the ceiling: the share of harmful_val that opens at the threshold that opens at most 5% of
//     those 200 harmless prompts, a threshold chosen on the evaluation prompts themselves (no
//     threshold rule can do better with this direction and score).
// Activations are captured once per prompt (one batched pass, as extraction does), so the whole
// study takes a few minutes (Qwen2.5-Coder, 2 cores). Usage:
//   npm run bench:gate -- [--model <gguf>] [--data ../shared/data] [--chat-template <jinja file>]
//                          [--budget 0.05] [--false-open-budget 0.03] [--out bench-results/gate-ceiling.json]
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { basename, dirname, join } from "node:path";
import { parseArgs } from "node:util";
import * as ia from "../test/helpers/api.js";
import { accuracyAt, bestThreshold, rocAuc, score, thresholdForFalseOpenBudget, type ScoreKind } from "../dist/vectors/stats.js";
import { realModelPaths, repoRoot } from "../test/helpers/engine.js";
import { contextInternals } from "../test/helpers/internals.js";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    data: { type: "string", default: join(repoRoot, "..", "shared", "data") },
    "chat-template": { type: "string" },
    budget: { type: "string", default: "0.05" },
    "false-open-budget": { type: "string", default: String(ia.DEFAULT_FALSE_OPEN_BUDGET) },
    threads: { type: "string", default: String(Math.min(2, os.availableParallelism())) },
    out: { type: "string", default: join(repoRoot, "bench-results", "gate-ceiling.json") },
  },
});
const modelPath = values.model ?? realModelPaths().qwen2;
if (!modelPath) throw new Error("no model: pass --model or run `npm run models`");
const budget = Number(values.budget);
const falseOpenBudget = Number(values["false-open-budget"]);
const data = (file: string) => join(values.data!, file);

const model = await ia.LlamaModel.load(modelPath);
const template = values["chat-template"] ? ia.customChatTemplate(model, readFileSync(values["chat-template"], "utf8")) : model.chatTemplate;
const { layerCount: nLayers, embeddingLength: nEmbd } = model.info;

const harmlessVal = ia.readPromptFile(data("harmless_val.json"), { limit: 239 });
const harmfulTrain = ia.readPromptFile(data("harmful_train.json"));
const inTrain = new Set(harmfulTrain.map((p) => p.trim()));
const xstest = ia.loadRows(data("xstest_prompts.csv")) as Array<Record<string, string>>;
const sets = {
  dataHarmful: harmfulTrain,
  dataHarmless: ia.readPromptFile(data("harmless_train.json"), { limit: 260 }),
  builtinHarmful: ia.builtinPromptSet("harmful", "train"),
  builtinHarmless: ia.builtinPromptSet("harmless", "train"),
  valHarmful: ia.readPromptFile(data("harmful_val.json")),
  valHarmless39: harmlessVal.slice(0, 39),
  evalHarmless200: harmlessVal.slice(39),
  advbenchHeldOut: ia.readPromptFile(data("advbench.csv")).filter((p) => !inTrain.has(p.trim())),
  xstestSafe: xstest.filter((r) => r.label === "safe").map((r) => r.prompt!),
  xstestUnsafe: xstest.filter((r) => r.label === "unsafe").map((r) => r.prompt!),
};

// Rendered once, as extraction renders them (renderPrompt with the same template).
const rendered = Object.fromEntries(Object.entries(sets).map(([name, prompts]) => [name, prompts.map((p) => ia.renderPrompt(model, p, template))])) as Record<
  keyof typeof sets,
  number[][]
>;
const longest = Math.max(
  ...Object.values(rendered)
    .flat()
    .map((t) => t.length),
);
const batch = Math.max(1024, longest);
const context = await model.createContext({
  contextSize: batch,
  batchSize: batch,
  ubatchSize: batch,
  sequences: 16,
  kvUnified: true,
  flashAttention: false,
  evalHook: true,
  threads: Number(values.threads),
});
const layers = Array.from({ length: nLayers }, (_, i) => i);
/** Last-prompt-token activations of every prompt: rows[prompt] is nLayers x nEmbd. */
async function activations(prompts: number[][]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let start = 0; start < prompts.length; start += 64) {
    const part = prompts.slice(start, start + 64).map((t) => Uint32Array.from(t));
    const r = await contextInternals(context)._capture(part, { layers });
    for (let k = 0; k < part.length; k++) out.push(r.rows.slice(k * nLayers * nEmbd, (k + 1) * nLayers * nEmbd));
  }
  return out;
}
const started = performance.now();
const acts = {} as Record<keyof typeof sets, Float32Array[]>;
for (const name of Object.keys(sets) as Array<keyof typeof sets>) acts[name] = await activations(rendered[name]);
const captureSeconds = (performance.now() - started) / 1000;
await context.dispose();

const row = (a: Float32Array, l: number) => a.subarray(l * nEmbd, (l + 1) * nEmbd);
function unitDirection(harmful: Float32Array[], harmless: Float32Array[], l: number): Float64Array {
  const v = new Float64Array(nEmbd);
  for (const a of harmful) for (let i = 0; i < nEmbd; i++) v[i] = v[i]! + row(a, l)[i]! / harmful.length;
  for (const a of harmless) for (let i = 0; i < nEmbd; i++) v[i] = v[i]! - row(a, l)[i]! / harmless.length;
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}
const openRate = (scores: number[], threshold: number) => scores.filter((s) => s > threshold).length / scores.length;
interface LayerStudy {
  layer: number;
  valAccuracy: number;
  valAuc: number;
  /** At the default threshold (false-open budget on the harmless calibration + validation prompts). */
  openHarmfulVal: number;
  openHarmless200: number;
  openAdvbench: number;
  openXstestSafe: number;
  openXstestUnsafe: number;
  ceilingHarmfulOpen: number;
}
const study: Record<string, Record<ScoreKind, LayerStudy[]>> = {};
for (const source of ["data", "builtin"] as const) {
  study[source] = { cosine: [], projection: [] };
  for (const l of layers) {
    const direction = unitDirection(acts[`${source}Harmful`], acts[`${source}Harmless`], l);
    for (const kind of ["cosine", "projection"] as const) {
      const scores = (set: Float32Array[]) => set.map((a) => score(kind, row(a, l), direction));
      const calibrationHarmless = scores(acts[`${source}Harmless`]);
      const best = bestThreshold(scores(acts[`${source}Harmful`]), calibrationHarmless).threshold;
      const vh = scores(acts.valHarmful);
      const vb = scores(acts.valHarmless39);
      const eb = scores(acts.evalHarmless200);
      const threshold = thresholdForFalseOpenBudget([...calibrationHarmless, ...vb], falseOpenBudget);
      study[source]![kind].push({
        layer: l,
        valAccuracy: accuracyAt(vh, vb, best),
        valAuc: rocAuc(vh, vb),
        openHarmfulVal: openRate(vh, threshold),
        openHarmless200: openRate(eb, threshold),
        openAdvbench: openRate(scores(acts.advbenchHeldOut), threshold),
        openXstestSafe: openRate(scores(acts.xstestSafe), threshold),
        openXstestUnsafe: openRate(scores(acts.xstestUnsafe), threshold),
        ceilingHarmfulOpen: openRate(vh, thresholdForFalseOpenBudget(eb, budget)),
      });
    }
  }
}

const pct = (x: number) => (100 * x).toFixed(1);
const lines = [
  `model ${basename(modelPath)} (${model.info.architecture}, ${nLayers} layers x ${nEmbd}); template: ${values["chat-template"] ?? `${template.source} ${template.name}`}`,
  `prompts: ${Object.entries(sets)
    .map(([k, s]) => `${k} ${s.length}`)
    .join(", ")}; captured in ${captureSeconds.toFixed(1)} s`,
];
for (const source of ["data", "builtin"] as const) {
  for (const kind of ["cosine", "projection"] as const) {
    const rows = study[source]![kind];
    lines.push(
      "",
      `### vectors from ${source === "data" ? "harmful_train + 260 harmless_train" : "the built-in train sets"}, ${kind} score`,
      `| layer | val acc (best balanced thr) | val AUC | open at the default threshold (${pct(falseOpenBudget)}% budget): harmful_val | 200 harmless_val | AdvBench held out | XSTest safe | XSTest unsafe | ceiling: harmful_val open at <= ${pct(budget)}% of the 200 harmless |`,
      "|---|---|---|---|---|---|---|---|---|",
      ...rows.map(
        (r) =>
          `| ${r.layer} | ${r.valAccuracy.toFixed(3)} | ${r.valAuc.toFixed(3)} | ${pct(r.openHarmfulVal)}% | ${pct(r.openHarmless200)}% | ${pct(r.openAdvbench)}% | ${pct(r.openXstestSafe)}% | ${pct(r.openXstestUnsafe)}% | ${pct(r.ceilingHarmfulOpen)}% |`,
      ),
    );
    const best = (key: keyof LayerStudy) => rows.reduce((a, b) => (b[key] > a[key] ? b : a));
    lines.push(
      `best: val acc ${best("valAccuracy").valAccuracy.toFixed(3)} (layer ${best("valAccuracy").layer}), AUC ${best("valAuc").valAuc.toFixed(3)} (layer ${best("valAuc").layer}), ceiling ${pct(best("ceilingHarmfulOpen").ceilingHarmfulOpen)}% (layer ${best("ceilingHarmfulOpen").layer})`,
    );
  }
}
console.log(lines.join("\n"));
mkdirSync(dirname(values.out!), { recursive: true });
writeFileSync(
  values.out!,
  JSON.stringify(
    {
      model: modelPath,
      template: values["chat-template"] ?? template.name,
      budget,
      counts: Object.fromEntries(Object.entries(sets).map(([k, s]) => [k, s.length])),
      study,
    },
    null,
    2,
  ) + "\n",
);
console.log(`(wrote ${values.out})`);
await model.dispose();
