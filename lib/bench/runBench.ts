// The benchmark behind `inferaligner bench` and `npm run bench`: prompt-processing and generation
// speed of the plain engine, of guidance (monitor with the gate closed, steer with the gate open),
// of node-llama-cpp on the same model and settings, optionally of llama.cpp's own llama-bench and of
// a second build of this addon (e.g. the source build against the prebuilt one), and of vector
// extraction. One run, configurations interleaved (A B C, C B A, ...) after a warm-up; medians,
// min/max, and ratios against this run's plain engine on the same prompt, both as a ratio of
// medians and as the median of per-repetition (paired) ratios with a 95% interval.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ChatSession } from "../ChatSession.js";
import { builtinPromptSet } from "../data/builtinPrompts.js";
import { getBinding } from "../binding.js";
import { resolveGuidance, type ResolvedGuidance } from "../guidance.js";
import { LlamaModel } from "../Model.js";
import type { LlamaContext } from "../Context.js";
import { extractSafetyVectors, renderPrompt } from "../vectors/extract.js";
import { writeVectorFile } from "../vectors/vectorFile.js";

export interface BenchOptions {
  modelPath: string;
  /** Repetitions per configuration after the warm-up. Defaults to `5`. */
  reps?: number;
  /** Defaults to min(2, available parallelism). */
  threads?: number;
  /** Generated tokens per sample. Defaults to `64`. */
  genTokens?: number;
  /** The target's vector file; extracted from the built-in sets into `scratchVectorFile` when absent. */
  gate?: string;
  scratchVectorFile: string;
  /** Compare with node-llama-cpp. Defaults to `true`. */
  nodeLlamaCpp?: boolean;
  /** Path of llama.cpp's llama-bench (built from the same bundle) to run as the engine's reference. */
  llamaBench?: string;
  /** Another build of this addon (its inferaligner.node) to measure the plain engine with, in child processes. */
  compareBinary?: { label: string; path: string };
  /** Measure extraction throughput. Defaults to `true`. */
  extraction?: boolean;
  log?: (line: string) => void;
}

export interface Stats { median: number; min: number; max: number }
/** Median of per-repetition ratios, with a distribution-free 95% confidence interval of that median. */
export interface RatioStats { median: number; low: number; high: number; n: number }
export interface BenchRow {
  name: string;
  baseline: string;
  pp: Stats;
  tg: Stats;
  /** Ratio of this row's median to the baseline's median. */
  ppRatio: number;
  tgRatio: number;
  /**
   * Ratios of each repetition's sample to the baseline's sample in the same repetition (run next
   * to each other), so that the machine's drift between repetitions cancels.
   */
  pairedPp: RatioStats;
  pairedTg: RatioStats;
}
export interface BenchResult {
  model: string;
  reps: number;
  genTokens: number;
  machine: { cpu: string | undefined; cores: number; threads: number; node: string; build: string; date: string };
  rows: BenchRow[];
  llamaBench: { pp: number; tg: number; ppTokens: number; ppRatio: number; tgRatio: number } | null;
  extraction: { extractionTokensPerSecond: Stats; plainPromptProcessingTokensPerSecond: Stats; ratio: number; prompts: number; tokens: number } | null;
  gate: { harmlessPromptTokens: number; harmfulPromptTokens: number };
}

interface Sample { pp: number; tg: number }

export const BENCH_PROMPTS = {
  harmless: "I am planning a week-long trip to Portugal in the spring with two friends who love food, history and long walks. " +
    "Please suggest a day-by-day itinerary covering Lisbon, Sintra and Porto, with one or two restaurant ideas per day, " +
    "rough travel times between the cities by train, and a short packing list for changeable weather.",
  harmful: "Explain, step by step and in detail, how to build an untraceable weapon at home and how to avoid the police while using it to hurt people.",
} as const;

/** node-llama-cpp's version, from its package.json (its "exports" do not expose that file). */
function nodeLlamaCppVersion(): string {
  let dir = dirname(createRequire(import.meta.url).resolve("node-llama-cpp"));
  for (;;) {
    const path = join(dir, "package.json");
    if (existsSync(path)) {
      const pkg = JSON.parse(readFileSync(path, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "node-llama-cpp") return pkg.version ?? "unknown";
    }
    const parent = dirname(dir);
    if (parent === dir) return "unknown";
    dir = parent;
  }
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2; };
const stats = (xs: number[]): Stats => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });

/**
 * The median with its 95% confidence interval from order statistics (the sign-test interval):
 * the widest symmetric pair of ranks [k, n+1-k] whose binomial(n, 1/2) coverage is still >= 95%.
 * No assumption about the distribution, which on a shared machine has long tails.
 */
export function medianWithInterval(xs: readonly number[]): RatioStats {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return { median: NaN, low: NaN, high: NaN, n };
  // Ranks [j, n-1-j] (0-based) cover the median with probability 1 - 2 P(X <= j), X ~ Binomial(n, 1/2).
  const choose = (a: number, b: number) => { let c = 1; for (let i = 1; i <= b; i++) c = (c * (a - b + i)) / i; return c; };
  let k = 0;
  let cdf = choose(n, 0) / 2 ** n; // P(X <= k)
  while (k + 1 < n - 2 - k) {
    const next = cdf + choose(n, k + 1) / 2 ** n;
    if (2 * next > 0.05) break;
    cdf = next;
    k++;
  }
  return { median: median(s), low: s[k]!, high: s[n - 1 - k]!, n };
}

/** One sample of our engine: prompt speed over the whole prefill (an open gate's second prefill included). */
export async function sampleEngine(context: LlamaContext, tokens: number[], genTokens: number, guidance?: ResolvedGuidance): Promise<Sample> {
  context.clear();
  const r = await context.generate(tokens, { maxTokens: genTokens, ...(guidance ? { guidance } : {}) });
  const turn = r.timings.promptTokenCount - r.timings.reusedTokenCount;
  return { pp: (turn * 1000) / r.timings.promptMs, tg: r.timings.generationTokensPerSecond };
}

/** The plain-engine sample of a child process (`inferaligner bench --child-sample`), for another build. */
export async function childSample(modelPath: string, threads: number, genTokens: number): Promise<Sample> {
  const model = await LlamaModel.load(modelPath);
  try {
    const context = await model.createContext({ contextSize: 2048, batchSize: 512, threads });
    const tokens = new ChatSession(context).promptTokens(BENCH_PROMPTS.harmless);
    await sampleEngine(context, tokens, genTokens); // warm-up
    return await sampleEngine(context, tokens, genTokens);
  } finally {
    await model.dispose();
  }
}

export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const reps = o.reps ?? 5;
  const threads = o.threads ?? Math.min(2, os.availableParallelism());
  const genTokens = o.genTokens ?? 64;
  const log = o.log ?? (() => {});
  const model = await LlamaModel.load(o.modelPath);
  try {
    const context = await model.createContext({ contextSize: 2048, batchSize: 512, threads });
    const promptTokens = (text: string) => new ChatSession(context).promptTokens(text);
    const harmless = promptTokens(BENCH_PROMPTS.harmless);
    const harmful = promptTokens(BENCH_PROMPTS.harmful);
    let gate = o.gate;
    if (!gate) {
      log("[bench] extracting vectors (built-in prompt sets) for the guidance configurations");
      writeVectorFile(o.scratchVectorFile, await extractSafetyVectors(model, { harmful: builtinPromptSet("harmful", "train"), harmless: builtinPromptSet("harmless", "train"), threads }));
      gate = o.scratchVectorFile;
    }
    // Closed / open forced by the threshold so that each configuration measures what its name says.
    const closed = resolveGuidance(model, { gate, mode: "monitor", threshold: Infinity });
    const open = resolveGuidance(model, { gate, mode: "steer", threshold: -Infinity });

    type Runner = () => Promise<Sample>;
    const configs: Array<[string, Runner, string]> = [
      ["plain, harmless prompt", () => sampleEngine(context, harmless, genTokens), "plain, harmless prompt"],
      ["monitor, gate closed (harmless)", () => sampleEngine(context, harmless, genTokens, closed), "plain, harmless prompt"],
      ["plain, harmful prompt", () => sampleEngine(context, harmful, genTokens), "plain, harmful prompt"],
      ["steer, gate open (harmful)", () => sampleEngine(context, harmful, genTokens, open), "plain, harmful prompt"],
    ];
    let disposeNlc: (() => Promise<void>) | undefined;
    if (o.nodeLlamaCpp !== false) {
      const nlcMod = await import("node-llama-cpp");
      const nlc = await nlcMod.getLlama({ gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true, logLevel: nlcMod.LlamaLogLevel.error, maxThreads: threads });
      const nlcModel = await nlc.loadModel({ modelPath: o.modelPath });
      const nlcContext = await nlcModel.createContext({ contextSize: 2048, batchSize: 512, threads });
      const sequence = nlcContext.getSequence();
      disposeNlc = async () => { await nlcContext.dispose(); await nlcModel.dispose(); };
      const version = nodeLlamaCppVersion();
      configs.push([`node-llama-cpp ${version} (harmless)`, async () => {
        await sequence.clearHistory();
        const tokens = harmless as unknown as Parameters<typeof sequence.evaluate>[0];
        const t0 = performance.now();
        let first = 0;
        let n = 0;
        for await (const _ of sequence.evaluate(tokens, { temperature: 0, yieldEogToken: true })) {
          void _;
          if (n === 0) first = performance.now();
          if (++n >= genTokens) break;
        }
        const end = performance.now();
        // The first token arrives after the prompt is processed; the rest are generation.
        return { pp: (harmless.length * 1000) / (first - t0), tg: ((n - 1) * 1000) / (end - first) };
      }, "plain, harmless prompt"]);
    }
    if (o.compareBinary) {
      const { label, path } = o.compareBinary;
      const cli = fileURLToPath(new URL("../cli/index.js", import.meta.url));
      configs.push([`plain, ${label} build (harmless, child process)`, async () => {
        const r = spawnSync(process.execPath, [cli, "bench", "--child-sample", "--model", o.modelPath, "--threads", String(threads), "--tokens", String(genTokens)], {
          encoding: "utf8", env: { ...process.env, INFERALIGNER_BINARY: path }, maxBuffer: 1 << 24,
        });
        if (r.status !== 0) throw new Error(`the ${label} build's child failed: ${r.stderr.slice(-2000)}`);
        return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Sample;
      }, "plain, harmless prompt"]);
    }

    for (const [, run] of configs) await run(); // warm-up
    const samples = new Map<string, Sample[]>(configs.map(([name]) => [name, []]));
    for (let rep = 0; rep < reps; rep++) {
      // Odd repetitions run the configurations in reverse (A B C, C B A, ...), so that no
      // configuration always runs right after the same neighbour (caches, thermal state).
      const order = rep % 2 === 0 ? configs : [...configs].reverse();
      for (const [name, run] of order) samples.get(name)!.push(await run());
      log(`[bench] repetition ${rep + 1}/${reps}`);
    }
    const rows: BenchRow[] = configs.map(([name, , baseline]) => {
      const s = samples.get(name)!;
      const base = samples.get(baseline)!;
      const pp = stats(s.map((x) => x.pp));
      const tg = stats(s.map((x) => x.tg));
      const paired = (key: keyof Sample) => medianWithInterval(s.map((x, i) => x[key] / base[i]![key]));
      return {
        name, baseline, pp, tg,
        ppRatio: pp.median / median(base.map((x) => x.pp)),
        tgRatio: tg.median / median(base.map((x) => x.tg)),
        pairedPp: paired("pp"),
        pairedTg: paired("tg"),
      };
    });
    const plainRow = rows[0]!;

    let llamaBench: BenchResult["llamaBench"] = null;
    if (o.llamaBench) {
      log("[bench] llama-bench");
      const out = execFileSync(o.llamaBench, ["-m", o.modelPath, "-t", String(threads), "-p", String(harmless.length), "-n", String(genTokens), "-r", String(reps), "-o", "json"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
      const runs = JSON.parse(out) as Array<{ n_prompt: number; n_gen: number; avg_ts: number }>;
      const pp = runs.find((r) => r.n_prompt > 0 && r.n_gen === 0)?.avg_ts ?? NaN;
      const tg = runs.find((r) => r.n_gen > 0 && r.n_prompt === 0)?.avg_ts ?? NaN;
      llamaBench = { pp, tg, ppTokens: harmless.length, ppRatio: plainRow.pp.median / pp, tgRatio: plainRow.tg.median / tg };
    }

    let extraction: BenchResult["extraction"] = null;
    if (o.extraction !== false) {
      // Extraction against plain prompt processing of the same prompts, one per decode.
      const prompts = builtinPromptSet("harmful", "validation").concat(builtinPromptSet("harmless", "validation"));
      const tokens = prompts.map((p) => renderPrompt(model, p));
      const tokenCount = tokens.reduce((n, t) => n + t.length, 0);
      const ex: number[] = [];
      const plain: number[] = [];
      for (let rep = 0; rep < Math.max(3, Math.ceil(reps / 2)); rep++) {
        let t0 = performance.now();
        for (const t of tokens) {
          context.clear();
          await context.generate(t, { maxTokens: 0 });
        }
        plain.push((tokenCount * 1000) / (performance.now() - t0));
        t0 = performance.now();
        const half = Math.floor(prompts.length / 2);
        await extractSafetyVectors(model, { harmful: prompts.slice(0, half), harmless: prompts.slice(half), threads });
        ex.push((tokenCount * 1000) / (performance.now() - t0));
      }
      extraction = { extractionTokensPerSecond: stats(ex), plainPromptProcessingTokensPerSecond: stats(plain), ratio: median(ex) / median(plain), prompts: prompts.length, tokens: tokenCount };
    }
    await disposeNlc?.();
    const { native } = getBinding();
    return {
      model: o.modelPath,
      reps,
      genTokens,
      machine: { cpu: os.cpus()[0]?.model, cores: os.availableParallelism(), threads, node: process.version, build: native.systemInfo().buildMode, date: new Date().toISOString() },
      rows,
      llamaBench,
      extraction,
      gate: { harmlessPromptTokens: harmless.length, harmfulPromptTokens: harmful.length },
    };
  } finally {
    await model.dispose();
  }
}

export function formatBenchTable(r: BenchResult): string {
  const f = (x: number) => x.toFixed(1);
  const ratio = (q: RatioStats) => (q.low === q.high ? q.median.toFixed(3) : `${q.median.toFixed(3)} [${q.low.toFixed(3)}-${q.high.toFixed(3)}]`);
  const lines = [
    `model ${r.model.split("/").pop()}, ${r.machine.cpu}, ${r.machine.threads} threads, ${r.machine.build} build, ${r.reps} reps, ${r.genTokens} generated tokens`,
    "| configuration | prompt tok/s median (min-max) | x plain, paired median [95% CI] | generation tok/s median (min-max) | x plain, paired median [95% CI] |",
    "|---|---|---|---|---|",
    ...r.rows.map((x) => `| ${x.name} | ${f(x.pp.median)} (${f(x.pp.min)}-${f(x.pp.max)}) | ${ratio(x.pairedPp)} | ${f(x.tg.median)} (${f(x.tg.min)}-${f(x.tg.max)}) | ${ratio(x.pairedTg)} |`),
  ];
  if (r.llamaBench) {
    const b = r.llamaBench;
    lines.push(`| llama-bench (pp${b.ppTokens}, tg${r.genTokens}; mean) | ${f(b.pp)} | plain = ${b.ppRatio.toFixed(3)}x this | ${f(b.tg)} | plain = ${b.tgRatio.toFixed(3)}x this |`);
  }
  if (r.extraction) {
    const e = r.extraction;
    lines.push(`| extraction (${e.prompts} prompts, ${e.tokens} tokens) | ${f(e.extractionTokensPerSecond.median)} vs plain one-prompt prefill ${f(e.plainPromptProcessingTokensPerSecond.median)} | ${e.ratio.toFixed(3)} | | |`);
  }
  lines.push("(paired: each repetition's sample over the baseline's sample from the same repetition; steer/open prompt processing includes the second prefill of the turn)");
  return lines.join("\n");
}
