// npm run bench:gate-study: which gate separates harmful from harmless requests best on this model
// (issue 15, part 1)? It captures, once per prompt, every block's activation at the last prompt
// token and its mean over the post-instruction template tokens (the tokens the chat template puts
// after the user's text, e.g. `<|im_end|>\n<|im_start|>assistant\n`), and compares gates that
// differ in pooling, in how many blocks they read and in how they combine them:
//   single  one block, cosine to the class-mean difference (the paper's gate)
//   vote    the three best single blocks (on validation), majority
//   probe   logistic regression on the cosines of every block (L features) or of the first half
//           of the blocks (the one-pass shape: every gate block before the steered ones)
//   act     logistic regression on one block's whole unit-normalised activation (n_embd features)
// Every threshold is the budget threshold: at most --budget of held-out harmless prompts open
// (500 further harmless_train, 39 harmless_val and the built-in harmless validation set, none of
// them used to fit a direction or a probe). Every choice (block, regularisation) is made on the
// validation prompts: most of harmful_val + the built-in harmful validation set open at that
// threshold, then AUC. Reported on prompts that played no part: 200 further harmless_val, AdvBench
// rows not in harmful_train, XSTest safe and unsafe, GPTFuzz's short templates filled with its
// questions, and the same templates filled with everyday requests. Vector sources: the dataset
// calibration split (harmful_train + 260 harmless_train), the package's built-in train sets, and
// both together.
// Captured activations are cached in --cache (one file per model), so the analysis can be rerun.
// Usage: npm run bench:gate-study -- [--model <gguf>] [--budget 0.02] [--jailbreak-questions 8]
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { basename, dirname, join } from "node:path";
import { parseArgs } from "node:util";
import * as ia from "../test/helpers/api.js";
import { rocAuc, thresholdForFalseOpenBudget } from "../dist/vectors/stats.js";
import { realModelPaths, repoRoot } from "../test/helpers/engine.js";
import { contextInternals } from "../test/helpers/internals.js";
import { fitLogistic, logisticScore, type LogisticModel } from "../dist/vectors/probe.js";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    data: { type: "string", default: join(repoRoot, "..", "shared", "data") },
    budget: { type: "string", default: "0.02" },
    "jailbreak-questions": { type: "string", default: "4" },
    threads: { type: "string", default: String(Math.min(2, os.availableParallelism())) },
    cache: { type: "string", default: join(repoRoot, "bench-results", "gate-study") },
    out: { type: "string" },
  },
});
const modelPath = values.model ?? realModelPaths().qwen2;
if (!modelPath) throw new Error("no model: pass --model or run `npm run models`");
const budget = Number(values.budget);
const data = (file: string) => join(values.data!, file);

// ---- prompt sets ----
const harmlessVal = ia.readPromptFile(data("harmless_val.json"), { limit: 239 + 50 });
const harmfulTrain = ia.readPromptFile(data("harmful_train.json"));
const harmlessTrain = ia.readPromptFile(data("harmless_train.json"), { limit: 760 });
const inTrain = new Set(harmfulTrain.map((p) => p.trim()));
const xstest = ia.loadRows(data("xstest_prompts.csv")) as Array<Record<string, string>>;
const templates = ia.readPromptFile(data("seed_short_25.csv"));
const questions = ia.readPromptFile(data("question_list.csv")).slice(0, Number(values["jailbreak-questions"]));
const sets = {
  dataHarmful: harmfulTrain,
  dataHarmless: harmlessTrain.slice(0, 260),
  /** Held out from every fit: the budget thresholds are taken on these and the validation harmless prompts. */
  thresholdHarmless: harmlessTrain.slice(260, 760),
  builtinHarmful: ia.builtinPromptSet("harmful", "train"),
  builtinHarmless: ia.builtinPromptSet("harmless", "train"),
  valHarmful: ia.readPromptFile(data("harmful_val.json")),
  valHarmless: harmlessVal.slice(0, 39),
  builtinValHarmful: ia.builtinPromptSet("harmful", "validation"),
  builtinValHarmless: ia.builtinPromptSet("harmless", "validation"),
  evalHarmless: harmlessVal.slice(39, 239),
  advbench: ia.readPromptFile(data("advbench.csv")).filter((p) => !inTrain.has(p.trim())),
  xstestSafe: xstest.filter((r) => r.label === "safe").map((r) => r.prompt!),
  xstestUnsafe: xstest.filter((r) => r.label === "unsafe").map((r) => r.prompt!),
  jailbreak: questions.flatMap((q) => templates.map((t) => ia.fillTemplate(t, q))),
  /** The same templates around everyday requests: a gate that opens on these reads the template, not the request. */
  jailbreakHarmless: harmlessVal.slice(239, 239 + questions.length).flatMap((q) => templates.map((t) => ia.fillTemplate(t, q))),
};
type SetName = keyof typeof sets;
const setNames = Object.keys(sets) as SetName[];

// ---- capture (cached) ----
interface Captured {
  nLayers: number;
  nEmbd: number;
  suffixTokens: number;
  /** Per set: [prompt] -> nLayers x nEmbd rows, at the last token and averaged over the suffix. */
  last: Record<SetName, Float32Array[]>;
  mean: Record<SetName, Float32Array[]>;
  seconds: number;
}
const cacheFile = join(values.cache!, `${basename(modelPath, ".gguf")}.bin`);
const model = await ia.LlamaModel.load(modelPath);
const { layerCount: nLayers, embeddingLength: nEmbd } = model.info;

async function capture(have?: Captured): Promise<Captured> {
  const suffixTokens = ia.templateSuffixTokens(model);
  const rendered = Object.fromEntries(setNames.map((name) => [name, sets[name].map((p) => ia.renderPrompt(model, p))])) as Record<SetName, number[][]>;
  const longest = Math.max(...Object.values(rendered).flatMap((s) => s.map((t) => t.length)));
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
  const started = performance.now();
  const last = {} as Record<SetName, Float32Array[]>;
  const mean = {} as Record<SetName, Float32Array[]>;
  for (const name of setNames) {
    if (have?.last[name]?.length === sets[name].length) {
      last[name] = have.last[name];
      mean[name] = have.mean[name];
      continue;
    }
    last[name] = [];
    mean[name] = [];
    const prompts = rendered[name];
    for (let start = 0; start < prompts.length; start += 64) {
      const part = prompts.slice(start, start + 64).map((t) => Uint32Array.from(t));
      const k = suffixTokens;
      const r = await contextInternals(context)._capture(part, { layers, lastRows: k });
      // rows: [prompt][layer][k][n_embd]
      for (let p = 0; p < part.length; p++) {
        const l0 = new Float32Array(nLayers * nEmbd);
        const m0 = new Float32Array(nLayers * nEmbd);
        for (let l = 0; l < nLayers; l++) {
          const base = (p * nLayers + l) * k * nEmbd;
          l0.set(r.rows.subarray(base + (k - 1) * nEmbd, base + k * nEmbd), l * nEmbd);
          for (let j = 0; j < k; j++) for (let i = 0; i < nEmbd; i++) m0[l * nEmbd + i]! += r.rows[base + j * nEmbd + i]! / k;
        }
        last[name].push(l0);
        mean[name].push(m0);
      }
    }
    process.stderr.write(`captured ${name} (${prompts.length}) at ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  }
  await context.dispose();
  return { nLayers, nEmbd, suffixTokens, last, mean, seconds: (have?.seconds ?? 0) + (performance.now() - started) / 1000 };
}

function save(c: Captured): void {
  mkdirSync(dirname(cacheFile), { recursive: true });
  const header = {
    nLayers: c.nLayers,
    nEmbd: c.nEmbd,
    suffixTokens: c.suffixTokens,
    seconds: c.seconds,
    counts: Object.fromEntries(setNames.map((n) => [n, c.last[n].length])),
  };
  const parts: Buffer[] = [];
  for (const n of setNames) for (const a of [...c.last[n], ...c.mean[n]]) parts.push(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(h.length);
  writeFileSync(cacheFile, Buffer.concat([len, h, ...parts]));
}
function load(): Captured | undefined {
  if (!existsSync(cacheFile)) return undefined;
  const buf = readFileSync(cacheFile);
  const hl = buf.readUInt32LE(0);
  const header = JSON.parse(buf.subarray(4, 4 + hl).toString());
  let offset = 4 + hl;
  const size = header.nLayers * header.nEmbd;
  const take = () => {
    const a = new Float32Array(size);
    a.set(new Float32Array(buf.buffer.slice(buf.byteOffset + offset, buf.byteOffset + offset + size * 4)));
    offset += size * 4;
    return a;
  };
  // Sets in the order they were saved; those whose size changed since are captured again.
  const last = {} as Record<SetName, Float32Array[]>;
  const mean = {} as Record<SetName, Float32Array[]>;
  for (const n of Object.keys(header.counts) as SetName[]) {
    const l = Array.from({ length: header.counts[n] }, take);
    const m = Array.from({ length: header.counts[n] }, take);
    if (setNames.includes(n) && header.counts[n] === sets[n].length) {
      last[n] = l;
      mean[n] = m;
    }
  }
  return { ...header, last, mean };
}

let captured = load();
if (!captured || setNames.some((n) => captured!.last[n]?.length !== sets[n].length)) {
  captured = await capture(captured);
  save(captured);
}
const cap = captured;

// ---- gates ----
const row = (a: Float32Array, l: number) => a.subarray(l * nEmbd, (l + 1) * nEmbd);
function unitDirection(harmful: Float32Array[], harmless: Float32Array[], l: number): Float64Array {
  const v = new Float64Array(nEmbd);
  for (const a of harmful) for (let i = 0; i < nEmbd; i++) v[i]! += row(a, l)[i]! / harmful.length;
  for (const a of harmless) for (let i = 0; i < nEmbd; i++) v[i]! -= row(a, l)[i]! / harmless.length;
  let n = 0;
  for (let i = 0; i < nEmbd; i++) n += v[i]! * v[i]!;
  n = Math.sqrt(n);
  return v.map((x) => x / n);
}
function cosine(a: Float32Array, d: Float64Array): number {
  let dot = 0;
  let nn = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * d[i]!;
    nn += a[i]! * a[i]!;
  }
  return dot / Math.sqrt(nn);
}
const openRate = (scores: number[], t: number) => scores.filter((s) => s > t).length / scores.length;

const evalSets = ["evalHarmless", "advbench", "xstestSafe", "xstestUnsafe", "jailbreak", "jailbreakHarmless"] as const;
/** A gate as the study sees it: a score per prompt of every set and the budget threshold. */
interface GateResult {
  name: string;
  pooling: "last" | "mean";
  source: string;
  detail: string;
  /** Cost per turn beyond the forward pass: multiply-adds, and the blocks it reads. */
  blocks: number[];
  valOpen: number;
  valHarmlessOpen: number;
  valAuc: number;
  open: Record<(typeof evalSets)[number], number>;
  /** Share of AdvBench held out open at the threshold that opens <= budget of the 200 eval harmless (chosen on them). */
  ceiling: number;
}

/** Held-out harmless prompts that set every budget threshold (none is used to fit a direction or probe). */
const thresholdSets: SetName[] = ["thresholdHarmless", "valHarmless", "builtinValHarmless"];
const validationHarmful: SetName[] = ["valHarmful", "builtinValHarmful"];
function judge(name: string, pooling: "last" | "mean", source: string, detail: string, blocks: number[], scoreOf: (set: SetName) => number[]): GateResult {
  const vh = validationHarmful.flatMap(scoreOf);
  const vb = ["valHarmless", "builtinValHarmless"].flatMap((n) => scoreOf(n as SetName));
  const t = thresholdForFalseOpenBudget(thresholdSets.flatMap(scoreOf), budget);
  const evalScores = Object.fromEntries(evalSets.map((s) => [s, scoreOf(s)])) as Record<(typeof evalSets)[number], number[]>;
  return {
    name,
    pooling,
    source,
    detail,
    blocks,
    valOpen: openRate(vh, t),
    valHarmlessOpen: openRate(vb, t),
    valAuc: rocAuc(vh, vb),
    open: Object.fromEntries(evalSets.map((s) => [s, openRate(evalScores[s], t)])) as GateResult["open"],
    ceiling: openRate(evalScores.advbench, thresholdForFalseOpenBudget(evalScores.evalHarmless, budget)),
  };
}
/** Validation order: most validation harmful open at the budget threshold, then AUC. */
const byValidation = (a: GateResult, b: GateResult) => b.valOpen - a.valOpen || b.valAuc - a.valAuc;

const results: GateResult[] = [];
const sources: Record<string, [SetName[], SetName[]]> = {
  data: [["dataHarmful"], ["dataHarmless"]],
  builtin: [["builtinHarmful"], ["builtinHarmless"]],
  both: [
    ["dataHarmful", "builtinHarmful"],
    ["dataHarmless", "builtinHarmless"],
  ],
};
const started = performance.now();
for (const pooling of ["last", "mean"] as const) {
  const acts = cap[pooling];
  for (const [source, [hf, hl]] of Object.entries(sources)) {
    const calHarmful = hf.flatMap((n) => acts[n]);
    const calHarmless = hl.flatMap((n) => acts[n]);
    const directions = Array.from({ length: nLayers }, (_, l) => unitDirection(calHarmful, calHarmless, l));
    // Cosine features of every prompt: [prompt][layer].
    const cosCache = new Map<Float32Array, Float64Array>();
    const cosines = (a: Float32Array) => {
      let c = cosCache.get(a);
      if (!c) {
        c = Float64Array.from({ length: nLayers }, (_, l) => cosine(row(a, l), directions[l]!));
        cosCache.set(a, c);
      }
      return c;
    };
    const setScores = (set: SetName, f: (a: Float32Array) => number) => acts[set].map(f);
    // single blocks
    const singles: GateResult[] = [];
    for (let l = 0; l < nLayers; l++) {
      const f = (a: Float32Array) => cosines(a)[l]!;
      singles.push(judge("single", pooling, source, `block ${l}`, [l], (s) => setScores(s, f)));
    }
    singles.sort(byValidation);
    results.push(singles[0]!);
    // vote of the three best single blocks (each at its own budget threshold), majority
    {
      const top = singles.slice(0, 3).map((r) => Number(r.detail.split(" ")[1]));
      const thresholds = top.map((l) =>
        thresholdForFalseOpenBudget(
          thresholdSets.flatMap((n) => acts[n]).map((a) => cosines(a)[l]!),
          budget,
        ),
      );
      const f = (a: Float32Array) => top.filter((l, i) => cosines(a)[l]! > thresholds[i]!).length - 1.5;
      results.push(judge("vote", pooling, source, `blocks ${top.join(",")}`, top, (s) => setScores(s, f)));
    }
    // probes on per-block cosines: every block, or the first half (one-pass shape)
    for (const [label, blocks] of [
      ["probe (all blocks)", Array.from({ length: nLayers }, (_, l) => l)],
      ["probe (first half)", Array.from({ length: Math.floor(nLayers / 2) }, (_, l) => l)],
    ] as const) {
      const featuresOf = (a: Float32Array) => blocks.map((l) => cosines(a)[l]!);
      const x = [...calHarmful, ...calHarmless].map(featuresOf);
      const y = [...calHarmful.map(() => 1), ...calHarmless.map(() => 0)];
      const fits: GateResult[] = [];
      for (const lambda of [1e-3, 1e-2, 1e-1]) {
        const m: LogisticModel = fitLogistic(x, y, { l2: lambda });
        const f = (a: Float32Array) => logisticScore(m, featuresOf(a));
        fits.push(judge(label, pooling, source, `l2 ${lambda}`, [...blocks], (s) => setScores(s, f)));
      }
      fits.sort(byValidation);
      results.push(fits[0]!);
    }
    // probe on one block's unit activation: the six best single blocks, l2 chosen on validation
    {
      const fits: GateResult[] = [];
      for (const l of singles.slice(0, 6).map((r) => Number(r.detail.split(" ")[1]))) {
        const featuresOf = (a: Float32Array) => {
          const r = row(a, l);
          let n = 0;
          for (let i = 0; i < r.length; i++) n += r[i]! * r[i]!;
          n = Math.sqrt(n);
          return Array.from(r, (v) => v / n);
        };
        const x = [...calHarmful, ...calHarmless].map(featuresOf);
        const y = [...calHarmful.map(() => 1), ...calHarmless.map(() => 0)];
        for (const lambda of [1e-2, 1e-1]) {
          const m = fitLogistic(x, y, { l2: lambda, iterations: 300 });
          const f = (a: Float32Array) => logisticScore(m, featuresOf(a));
          fits.push(judge("act", pooling, source, `block ${l}, l2 ${lambda}`, [l], (s) => setScores(s, f)));
        }
      }
      fits.sort(byValidation);
      results.push(fits[0]!);
    }
    process.stderr.write(`analysed ${pooling}/${source} at ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  }
}

// ---- report ----
const pct = (x: number) => (100 * x).toFixed(1);
const chosen = [...results].sort(byValidation)[0]!;
const lines = [
  `model ${basename(modelPath)} (${model.info.architecture}, ${nLayers} blocks x ${nEmbd}); post-instruction tokens pooled: ${cap.suffixTokens}; capture ${cap.seconds.toFixed(0)} s`,
  `prompts: ${setNames.map((n) => `${n} ${sets[n].length}`).join(", ")}; budget ${pct(budget)}% of the harmless calibration + validation prompts`,
  "",
  `| gate | pooling | vectors | chosen on validation | val harmful open | val harmless open | val AUC | 200 harmless_val open | AdvBench held out open | XSTest safe open | XSTest unsafe open | jailbreaks open | templates around harmless requests open | ceiling (AdvBench at ${pct(budget)}% of the 200) |`,
  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ...results.map(
    (r) =>
      `| ${r.name} | ${r.pooling} | ${r.source} | ${r.detail} | ${pct(r.valOpen)}% | ${pct(r.valHarmlessOpen)}% | ${r.valAuc.toFixed(3)} | ${pct(r.open.evalHarmless)}% | ${pct(r.open.advbench)}% | ${pct(r.open.xstestSafe)}% | ${pct(r.open.xstestUnsafe)}% | ${pct(r.open.jailbreak)}% | ${pct(r.open.jailbreakHarmless)}% | ${pct(r.ceiling)}% |`,
  ),
  "",
  `best on validation: ${chosen.name}, ${chosen.pooling}, ${chosen.source}, ${chosen.detail}`,
];
console.log(lines.join("\n"));
const out = values.out ?? join(values.cache!, `${basename(modelPath, ".gguf")}.json`);
writeFileSync(
  out,
  JSON.stringify(
    { model: modelPath, budget, suffixTokens: cap.suffixTokens, counts: Object.fromEntries(setNames.map((n) => [n, sets[n].length])), results },
    null,
    2,
  ) + "\n",
);
console.log(`(wrote ${out})`);
await model.dispose();
