// Runs an evaluation: every item through the unguided baseline and through each guided
// configuration, greedy, one fresh conversation on an empty KV cache per item and configuration. Results are appended to
// <outDir>/results.jsonl as they come, so a rerun with the same outDir and configuration skips what
// is done (a laptop run takes a while). The baseline runs guidance in `monitor` mode: its output is
// the unguided output (the gate is computed but changes nothing; test/guidance checks that
// bit for bit) and it records every item's gate score for the gate-quality numbers.
import { appendFileSync, existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { ChatSession } from "../ChatSession.js";
import type { LlamaContext } from "../Context.js";
import { LlamaError } from "../errors.js";
import type { GateReport, GuidanceMode, GuidanceOptions } from "../guidance.js";
import type { StopReason } from "../generation.js";
import type { LlamaModel } from "../Model.js";
import { readSteeringFile, readVectorFile } from "../vectors/decodeVectorFile.js";
import { hashFile } from "../vectors/extract.js";
import type { EvalMode } from "../vocabulary.js";
import type { EvalItem, EvalSetName } from "./items.js";
import { runCodeTask, type ExecutionResult } from "./utility.js";

/**
 * "baseline" (no guidance) or a guided configuration: "steer" (InferAligner with the run's steer
 * file: cross-model when one is given, else the target's own vectors), "self" (the target's own
 * vectors steer even when the run has a steer file: the paper's weak setting, beside cross-model),
 * "refuse" (InferAligner-SIMPLE: the fixed refusal when the gate opens).
 */
export type EvalConfigName = "baseline" | EvalMode;

export interface EvalRecord {
  key: string;
  set: EvalSetName;
  config: EvalConfigName;
  text: string;
  stopReason: StopReason | "error";
  /** Why the item could not run (e.g. longer than the context); such items are left out of rates. */
  error?: string;
  promptTokens: number;
  /** Prompt tokens evaluated (the rest came from the KV cache); absent in results of version 0.1.0 runs. */
  evaluatedTokens?: number;
  generatedTokens: number;
  promptMs: number;
  generationMs: number;
  gate: GateReport | null;
  /** Utility items: the answer's code run against the task's tests. */
  execution?: ExecutionResult;
}

export interface EvalRunConfig {
  /** Guidance shared by every guided configuration (its `mode` is ignored: see `modes`). */
  guidance: Omit<GuidanceOptions, "mode" | "gate" | "steer" | "extraGates"> & { gate: string; steer?: string; extraGates?: string[] };
  /** Guided configurations compared with the baseline (the CLI's default is `["steer"]`). */
  modes: Array<Exclude<EvalConfigName, "baseline">>;
  maxTokens: number;
  /** New tokens for a utility (code) answer, which needs room for a whole function. Defaults to `384`. */
  utilityMaxTokens?: number;
  systemPrompt?: string;
}

/** What identifies a run: a resumed run must match it. */
export interface EvalRunIdentity {
  formatVersion: 1;
  model: { file: string; sha256: string; architecture: string; layerCount: number; embeddingLength: number };
  gate: { file: string; sha256: string };
  steer: { file: string; sha256: string } | null;
  /** Present when the run has extra gate files. */
  extraGates?: Array<{ file: string; sha256: string }>;
  config: EvalRunConfig;
}

export interface EvalProgress {
  done: number;
  total: number;
  /** Items skipped because a previous run finished them. */
  resumed: number;
  config: EvalConfigName;
  set: EvalSetName;
}

export interface RunEvalOptions {
  model: LlamaModel;
  context: LlamaContext;
  items: readonly EvalItem[];
  config: EvalRunConfig;
  outDir: string;
  modelSha256: string;
  onProgress?: (p: EvalProgress) => void;
  signal?: AbortSignal;
}

export const RESULTS_FILE = "results.jsonl";
export const RUN_FILE = "run.json";

export function configNames(config: EvalRunConfig): EvalConfigName[] {
  return ["baseline", ...config.modes];
}

/** Records already in outDir (the last record wins for a key and configuration). */
export function readRecords(outDir: string): Map<string, EvalRecord> {
  const path = join(outDir, RESULTS_FILE);
  const out = new Map<string, EvalRecord>();
  if (!existsSync(path)) return out;
  const lines = readFileSync(path, "utf8").split("\n");
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    let r: EvalRecord;
    try {
      r = JSON.parse(line) as EvalRecord;
    } catch {
      // A run killed mid-write leaves a torn last line: that item simply runs again.
      if (i >= lines.length - 2) return;
      throw new LlamaError(`${path}: line ${i + 1} is not JSON`, "ERR_INVALID_ARGUMENT");
    }
    out.set(`${r.config}|${r.key}`, r);
  });
  return out;
}

/**
 * The run kept in outDir, over the given items that every configuration has finished: what the
 * report of a run left for another sitting covers (the other items are left out, not counted as
 * missing). Throws ERR_INVALID_ARGUMENT when outDir holds no run.
 */
export function readFinishedRun(outDir: string, items: readonly EvalItem[]): { identity: EvalRunIdentity; items: EvalItem[]; records: EvalRecord[] } {
  const path = join(outDir, RUN_FILE);
  if (!existsSync(path)) throw new LlamaError(`'${outDir}' holds no evaluation run (no ${RUN_FILE})`, "ERR_INVALID_ARGUMENT");
  const identity = JSON.parse(readFileSync(path, "utf8")) as EvalRunIdentity;
  const done = readRecords(outDir);
  const configs = configNames(identity.config);
  const finished = items.filter((item) => configs.every((c) => done.has(`${c}|${item.key}`)));
  const records = finished.flatMap((item) => configs.map((c) => done.get(`${c}|${item.key}`)!));
  return { identity, items: finished, records };
}

/**
 * A run killed mid-write leaves a last line without its newline (readRecords skips it, and that item
 * runs again). Cut it off before appending, or the next record would be glued onto it and the file
 * would no longer parse.
 */
function dropTornTail(path: string): void {
  if (!existsSync(path)) return;
  const bytes = readFileSync(path);
  if (bytes.length === 0 || bytes[bytes.length - 1] === 0x0a) return;
  truncateSync(path, bytes.lastIndexOf(0x0a) + 1);
}

function checkIdentity(outDir: string, identity: EvalRunIdentity): void {
  const path = join(outDir, RUN_FILE);
  if (existsSync(path)) {
    const before = JSON.parse(readFileSync(path, "utf8")) as EvalRunIdentity;
    if (JSON.stringify(before) !== JSON.stringify(identity)) {
      throw new LlamaError(
        `'${outDir}' holds results of a different run (model, vector files or options differ: see ${RUN_FILE}); use another --out directory or delete it`,
        "ERR_INVALID_ARGUMENT",
      );
    }
  } else {
    writeFileSync(path, JSON.stringify(identity, null, 2) + "\n");
  }
}

export async function runIdentity(model: LlamaModel, modelSha256: string, config: EvalRunConfig): Promise<EvalRunIdentity> {
  const file = async (path: string, read: (path: string) => unknown = readVectorFile) => {
    // Read as the guidance will read it: a missing or damaged file is ERR_VECTOR_FILE naming it, before any hashing.
    read(path);
    return { file: basename(path), sha256: await hashFile(path) };
  };
  return {
    formatVersion: 1,
    model: {
      file: basename(model.path),
      sha256: modelSha256,
      architecture: model.info.architecture,
      layerCount: model.info.layerCount,
      embeddingLength: model.info.embeddingLength,
    },
    gate: await file(config.guidance.gate),
    steer: config.guidance.steer !== undefined ? await file(config.guidance.steer, readSteeringFile) : null,
    ...(config.guidance.extraGates?.length ? { extraGates: await Promise.all(config.guidance.extraGates.map((path) => file(path))) } : {}),
    config,
  };
}

/** Runs what is not yet in outDir; returns every record of the requested items. */
export async function runEval(o: RunEvalOptions): Promise<{ identity: EvalRunIdentity; records: EvalRecord[]; resumed: number }> {
  const { model, context, items, config, outDir } = o;
  if (!Number.isInteger(config.maxTokens) || config.maxTokens < 1) throw new RangeError(`maxTokens must be a positive integer, got ${config.maxTokens}`);
  if (!Array.isArray(config.modes) || config.modes.length === 0) throw new RangeError("modes is empty: nothing to compare with the baseline");
  mkdirSync(outDir, { recursive: true });
  const identity = await runIdentity(model, o.modelSha256, config);
  checkIdentity(outDir, identity);
  const done = readRecords(outDir);
  dropTornTail(join(outDir, RESULTS_FILE));
  const configs = configNames(config);
  const total = items.length * configs.length;
  let finished = 0;
  let resumed = 0;
  const records: EvalRecord[] = [];
  const resultsPath = join(outDir, RESULTS_FILE);
  // Items outer, configurations inner: a partial run still compares like with like.
  for (const item of items) {
    for (const name of configs) {
      o.signal?.throwIfAborted();
      const previous = done.get(`${name}|${item.key}`);
      if (previous) {
        records.push(previous);
        resumed++;
      } else {
        const record = await runOne(context, item, name, config, o.signal);
        appendFileSync(resultsPath, JSON.stringify(record) + "\n");
        records.push(record);
      }
      finished++;
      o.onProgress?.({ done: finished, total, resumed, config: name, set: item.set });
    }
  }
  return { identity, records, resumed };
}

async function runOne(context: LlamaContext, item: EvalItem, name: EvalConfigName, config: EvalRunConfig, signal?: AbortSignal): Promise<EvalRecord> {
  const mode: GuidanceMode = name === "baseline" ? "monitor" : name === "self" ? "steer" : name;
  const { steer: _crossModelSteer, ...ownVectors } = config.guidance;
  const guidance = name === "self" ? ownVectors : config.guidance;
  // Every configuration of an item starts from an empty KV cache, so each one evaluates the same
  // tokens in the same batches: a closed gate then answers bit for bit as the baseline, and
  // "preserved" measures guidance, not which cells the previous item left to reuse (a reused
  // prefix changes the batch split and so the floating-point path, and greedy answers flip at ties).
  context.clear();
  const session = new ChatSession(context, config.systemPrompt !== undefined ? { systemPrompt: config.systemPrompt } : {});
  const base = { key: item.key, set: item.set, config: name };
  try {
    const code = item.set === "utility";
    const r = await session.prompt(item.prompt, {
      maxTokens: code ? (config.utilityMaxTokens ?? 384) : config.maxTokens,
      // A code answer is done when its code block closes (the prose after it is not judged).
      ...(code ? { stop: ["\n```\n"] } : {}),
      temperature: 0,
      guidance: { ...guidance, mode },
      ...(signal ? { signal } : {}),
    });
    return {
      ...base,
      text: r.text,
      stopReason: r.stopReason,
      promptTokens: r.timings.promptTokenCount,
      evaluatedTokens: r.timings.evaluatedTokenCount,
      generatedTokens: r.timings.generatedTokenCount,
      promptMs: r.timings.promptMs,
      generationMs: r.timings.generationMs,
      gate: r.gate ?? null,
      ...(item.task ? { execution: await runCodeTask(item.task, r.text) } : {}),
    };
  } catch (error) {
    // Only input-dependent failures become a recorded error; anything else stops the run.
    if (error instanceof LlamaError && (error.code === "ERR_CONTEXT_OVERFLOW" || error.code === "ERR_TEMPLATE")) {
      return {
        ...base,
        text: "",
        stopReason: "error",
        error: `${error.code}: ${error.message}`,
        promptTokens: 0,
        generatedTokens: 0,
        promptMs: 0,
        generationMs: 0,
        gate: null,
      };
    }
    throw error;
  }
}
