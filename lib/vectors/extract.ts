// Extraction of a model's safety related vectors (method.md, "Objects"): for every block l, the
// mean residual-stream activation a_l(P) at the last prompt token over harmful prompts minus that
// over harmless prompts, with prompts rendered by the model's chat template up to the assistant
// opener. This file runs the prompts through the model, many per llama_decode (one sequence each);
// the maths on the captured activations is in classStats.ts, layers.ts and stats.ts, the result's
// shapes in safetyVectors.ts.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import os from "node:os";
import { basename } from "node:path";
import { customChatTemplate, tokenizeRendered, type ChatTemplate } from "../chatTemplate.js";
import type { LlamaContext } from "../Context.js";
import { GenerationAbortedError, LlamaError } from "../errors.js";
import type { LlamaModel } from "../Model.js";
import { addActivation, newClassAccumulator, xorshift32, type ClassAccumulator } from "./classStats.js";
import { fileFingerprint } from "./fingerprint.js";
import { fitGateProbes, type CrossFittedProbe } from "./gateProbes.js";
import { addLayerScores, applyValidation, fitLayers, newLayerScores, suggestLayers } from "./layers.js";
import {
  DEFAULT_FALSE_OPEN_BUDGET,
  DEFAULT_GATE_DIRECTION,
  DEFAULT_GATE_POOLING,
  type GateDirectionKind,
  type ExtractionProgress,
  type ExtractOptions,
  type LayerVectors,
  type SafetyVectors,
} from "./safetyVectors.js";

export { DEFAULT_FALSE_OPEN_BUDGET, DEFAULT_GATE_DIRECTION, DEFAULT_GATE_POOLING, suggestLayers };
export type { GateDirectionKind, GatePooling } from "./safetyVectors.js";
export type { ExtractionProgress, ExtractOptions, LayerVectors, SafetyVectors, SourceModel, ThresholdInfo, ValidationInfo } from "./safetyVectors.js";

export async function hashFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Prompt tokens as the gate sees them: one user turn, rendered up to the assistant opener. */
export function renderPrompt(model: LlamaModel, prompt: string, template: ChatTemplate = model.chatTemplate): number[] {
  return tokenizeRendered(model, template.render([{ role: "user", content: prompt }], { addGenerationPrompt: true }));
}

/**
 * How many tokens the template puts after the user's text (at least 1): the common suffix of
 * prompts that end differently, rendered. A tokenizer that merges the user's last characters with
 * the template's text makes the suffix shorter, never longer, so no user token is counted.
 */
export function templateSuffixTokens(model: LlamaModel, template: ChatTemplate = model.chatTemplate): number {
  const rendered = ["Name a colour.", "What is 2 + 2?", "hello", "Tell me a story about a dragon!", "x = 1"].map((p) => renderPrompt(model, p, template));
  let n = Infinity;
  for (const other of rendered.slice(1)) {
    const a = rendered[0]!;
    let k = 0;
    while (k < a.length && k < other.length && a[a.length - 1 - k] === other[other.length - 1 - k]) k++;
    n = Math.min(n, k);
  }
  return Math.max(1, Math.min(n, 64));
}

type Phase = ExtractionProgress["phase"];
type PromptSets = Record<Phase, number[][]>;

interface Settings {
  sequences: number;
  batchTokens: number;
  sampleLimit: number;
  falseOpenBudget: number;
  template: ChatTemplate;
  gatePoolTokens: number;
  gateDirection: GateDirectionKind;
  gateLayer: number | undefined;
}

/**
 * The model's safety related vectors from the harmful and harmless prompts: per layer the class
 * means, the unit direction between them and the gate thresholds, with validation metrics when
 * held-out prompts are given. Rejects with ERR_INVALID_ARGUMENT on unusable prompt sets and with
 * GenerationAbortedError when `signal` aborts.
 */
export async function extractSafetyVectors(model: LlamaModel, options: ExtractOptions): Promise<SafetyVectors> {
  const settings = settingsOf(model, options);
  const skipped: SafetyVectors["skipped"] = [];
  const sets = renderSets(model, settings.template, options, skipped);
  const context = await openCaptureContext(model, sets, settings, options.threads);
  const started = performance.now();
  let tokens = 0;
  const capture = async (phase: Phase, visit: (last: Float32Array, pooled: Float32Array) => void) => {
    tokens += await captureSet(context, sets[phase], phase, settings, options, visit);
  };
  try {
    const { layerCount: nLayers, embeddingLength: nEmbd } = model.info;
    // A separately sampled gate class when the gate reads other activations than steering (pooled).
    const pooled = settings.gatePoolTokens > 1;
    // One generator for both classes, harmful first: the samples depend on that order.
    const random = xorshift32(0x5eed);
    const newClass = () => newClassAccumulator(nLayers, nEmbd, settings.sampleLimit, random);
    const harmful = newClass();
    const harmless = newClass();
    const gate = pooled ? { harmful: newClass(), harmless: newClass() } : undefined;
    await capture("harmful", (last, pool) => {
      addActivation(harmful, last);
      if (gate) addActivation(gate.harmful, pool);
    });
    await capture("harmless", (last, pool) => {
      addActivation(harmless, last);
      if (gate) addActivation(gate.harmless, pool);
    });
    const probes = await gateProbes(gate ?? { harmful, harmless }, settings, options);
    const { layers, calibrationScores } = fitLayers(harmful, harmless, settings.falseOpenBudget, gate, probes);
    // The steered range is suggested as before the gate study, from the steering directions' own
    // separation (last token, class-mean difference): a gate of its own (pooled, a probe) says
    // where the gate reads well, not where the steering vectors do.
    const ownGate = pooled || settings.gateDirection === "probe";
    const steering = ownGate ? fitLayers(harmful, harmless, settings.falseOpenBudget) : undefined;
    if (sets.valHarmful.length > 0 && sets.valHarmless.length > 0) {
      const val = { harmful: newLayerScores(nLayers), harmless: newLayerScores(nLayers) };
      const steerVal = { harmful: newLayerScores(nLayers), harmless: newLayerScores(nLayers) };
      for (const kind of ["harmful", "harmless"] as const) {
        await capture(kind === "harmful" ? "valHarmful" : "valHarmless", (last, pool) => {
          addLayerScores(val[kind], layers, pool);
          if (steering) addLayerScores(steerVal[kind], steering.layers, last);
        });
      }
      applyValidation(layers, calibrationScores, val.harmful, val.harmless, settings.falseOpenBudget);
      if (steering) applyValidation(steering.layers, steering.calibrationScores, steerVal.harmful, steerVal.harmless, settings.falseOpenBudget);
    }
    const suggested = {
      gateLayer: settings.gateLayer ?? suggestLayers(layers, settings.gatePoolTokens).gateLayer,
      steerLayers: suggestLayers(steering?.layers ?? layers, settings.gatePoolTokens).steerLayers,
    };
    const ms = performance.now() - started;
    return await resultOf(model, { settings, sets, layers, calibrationScores, suggested, skipped, tokens, ms });
  } finally {
    await context.dispose();
  }
}

/** The options with their defaults, checked. */
function settingsOf(model: LlamaModel, options: ExtractOptions): Settings {
  for (const [name, set] of [
    ["harmful", options.harmful],
    ["harmless", options.harmless],
  ] as const) {
    if (!Array.isArray(set) || set.length === 0) throw new LlamaError(`the ${name} prompt set is empty`, "ERR_INVALID_ARGUMENT");
  }
  if (((options.valHarmful ?? []).length === 0) !== ((options.valHarmless ?? []).length === 0)) {
    throw new LlamaError("validation needs both valHarmful and valHarmless prompts", "ERR_INVALID_ARGUMENT");
  }
  const falseOpenBudget = options.falseOpenBudget ?? DEFAULT_FALSE_OPEN_BUDGET;
  if (typeof falseOpenBudget !== "number" || !(falseOpenBudget >= 0 && falseOpenBudget < 1)) {
    throw new RangeError(`falseOpenBudget must be a share in [0, 1), got ${String(falseOpenBudget)}`);
  }
  const pooling = options.gatePooling ?? DEFAULT_GATE_POOLING;
  if (pooling !== "last" && pooling !== "template") throw new RangeError(`gatePooling must be "last" or "template", got ${String(pooling)}`);
  const gateDirection = options.gateDirection ?? DEFAULT_GATE_DIRECTION;
  if (gateDirection !== "probe" && gateDirection !== "mean-difference") {
    throw new RangeError(`gateDirection must be "probe" or "mean-difference", got ${String(gateDirection)}`);
  }
  const template = options.template !== undefined ? customChatTemplate(model, options.template) : model.chatTemplate;
  const gatePoolTokens = pooling === "template" ? templateSuffixTokens(model, template) : 1;
  return {
    sequences: options.sequences ?? 4,
    batchTokens: options.batchTokens ?? 256,
    sampleLimit: options.scoreSampleLimit ?? 2048,
    falseOpenBudget,
    template,
    gatePoolTokens,
    gateDirection,
    gateLayer: gateLayerOption(options.gateLayer, model.info.layerCount, gatePoolTokens),
  };
}

function gateLayerOption(layer: number | undefined, layerCount: number, gatePoolTokens: number): number | undefined {
  if (layer === undefined) return undefined;
  const last = gatePoolTokens > 1 ? layerCount - 2 : layerCount - 1;
  if (!Number.isInteger(layer) || layer < 0 || layer > last) {
    const why = gatePoolTokens > 1 ? ` (a pooled gate cannot read the last block, ${layerCount - 1})` : "";
    throw new RangeError(`gateLayer must be a block number from 0 to ${last}${why}, got ${String(layer)}`);
  }
  return layer;
}

/**
 * Each set's prompts as tokens; empty prompts and prompts longer than the model's context are left
 * out and listed in `skipped`.
 */
function renderSets(model: LlamaModel, template: ChatTemplate, options: ExtractOptions, skipped: SafetyVectors["skipped"]): PromptSets {
  const maxContext = model.info.contextLength || 4096;
  const render = (set: readonly string[], phase: Phase) => {
    const out: number[][] = [];
    set.forEach((p, index) => {
      if (typeof p !== "string" || p.trim().length === 0) {
        skipped.push({ set: phase, index, reason: "empty prompt" });
        return;
      }
      const tokens = renderPrompt(model, p, template);
      if (tokens.length > maxContext) skipped.push({ set: phase, index, reason: `${tokens.length} tokens, longer than the model's context (${maxContext})` });
      else out.push(tokens);
    });
    return out;
  };
  const sets = {
    harmful: render(options.harmful, "harmful"),
    harmless: render(options.harmless, "harmless"),
    valHarmful: render(options.valHarmful ?? [], "valHarmful"),
    valHarmless: render(options.valHarmless ?? [], "valHarmless"),
  };
  if (sets.harmful.length === 0 || sets.harmless.length === 0) throw new LlamaError("no usable prompts in a calibration set", "ERR_INVALID_ARGUMENT");
  return sets;
}

/**
 * One sequence per prompt, all in one KV buffer; flash attention off: its F16 Q rounding makes a
 * row depend on what else shares the batch (~1e-3), and extraction should be exact.
 */
function openCaptureContext(model: LlamaModel, sets: PromptSets, settings: Settings, threads: number | undefined): Promise<LlamaContext> {
  const longest = Math.max(
    ...Object.values(sets)
      .flat()
      .map((t) => t.length),
  );
  const size = Math.max(settings.batchTokens, longest);
  return model.createContext({
    contextSize: size,
    batchSize: size,
    ubatchSize: size,
    sequences: settings.sequences,
    kvUnified: true,
    flashAttention: false,
    evalHook: true,
    ...(threads !== undefined ? { threads } : {}),
  });
}

/**
 * Runs one set's prompts through the model in chunks, reporting progress after each; `visit` gets
 * each prompt's activations at its last token and pooled as the gate pools (nLayers x nEmbd each,
 * the same array when the gate reads the last token; views valid during the call). Returns the
 * tokens evaluated.
 */
async function captureSet(
  context: LlamaContext,
  prompts: number[][],
  phase: Phase,
  settings: Settings,
  options: ExtractOptions,
  visit: (last: Float32Array, pooled: Float32Array) => void,
): Promise<number> {
  const { layerCount, embeddingLength: nEmbd } = context.model.info;
  const layers = Array.from({ length: layerCount }, (_, i) => i);
  const pool = settings.gatePoolTokens;
  const stride = layerCount * nEmbd * pool;
  const chunk = Math.max(settings.sequences * 4, 16);
  const last = new Float32Array(layerCount * nEmbd);
  const pooled = new Float32Array(layerCount * nEmbd);
  let tokens = 0;
  for (let start = 0; start < prompts.length; start += chunk) {
    if (options.signal?.aborted) throw new GenerationAbortedError("extraction was aborted");
    const part = prompts.slice(start, start + chunk);
    const result = await context._capture(
      part.map((t) => Uint32Array.from(t)),
      { layers, lastRows: pool, ...(options.signal ? { signal: options.signal } : {}) },
    );
    tokens += result.tokens;
    for (let k = 0; k < part.length; k++) {
      const rows = result.rows.subarray(k * stride, (k + 1) * stride);
      if (pool === 1) {
        visit(rows, rows);
        continue;
      }
      // rows: [layer][pool][n_embd]; the mean in float64 as the engine's gate takes it, rounded once.
      for (let l = 0; l < layerCount; l++) {
        const base = l * pool * nEmbd;
        last.set(rows.subarray(base + (pool - 1) * nEmbd, base + pool * nEmbd), l * nEmbd);
        for (let i = 0; i < nEmbd; i++) {
          let sum = 0;
          for (let j = 0; j < pool; j++) sum += rows[base + j * nEmbd + i]!;
          pooled[l * nEmbd + i] = sum / pool;
        }
      }
      visit(last, pooled);
    }
    options.onProgress?.({ phase, done: Math.min(start + chunk, prompts.length), total: prompts.length });
  }
  return tokens;
}

async function resultOf(
  model: LlamaModel,
  r: {
    settings: Settings;
    sets: PromptSets;
    layers: LayerVectors[];
    calibrationScores: SafetyVectors["calibrationScores"];
    suggested: SafetyVectors["suggested"];
    skipped: SafetyVectors["skipped"];
    tokens: number;
    ms: number;
  },
): Promise<SafetyVectors> {
  const { sets, ms, tokens } = r;
  const prompts = Object.values(sets).reduce((n, s) => n + s.length, 0);
  return {
    source: {
      architecture: model.info.architecture,
      layerCount: model.info.layerCount,
      embeddingLength: model.info.embeddingLength,
      fileName: basename(model.path),
      sha256: await hashFile(model.path),
      fingerprint: fileFingerprint(model.path),
    },
    chatTemplate: r.settings.template.jinja,
    counts: { harmful: sets.harmful.length, harmless: sets.harmless.length, valHarmful: sets.valHarmful.length, valHarmless: sets.valHarmless.length },
    falseOpenBudget: r.settings.falseOpenBudget,
    gatePoolTokens: r.settings.gatePoolTokens,
    gateDirectionKind: r.settings.gateDirection,
    layers: r.layers,
    suggested: r.suggested,
    calibrationScores: r.calibrationScores,
    skipped: r.skipped,
    timings: { prompts, tokens, ms, promptsPerSecond: (prompts * 1000) / ms, tokensPerSecond: (tokens * 1000) / ms },
  };
}

/**
 * Each block's probe when the gate is one, fitted on the gate's activations, as many blocks at a
 * time as the extraction may use threads (libuv runs four).
 */
function gateProbes(
  gate: { harmful: ClassAccumulator; harmless: ClassAccumulator },
  settings: Settings,
  options: ExtractOptions,
): Promise<CrossFittedProbe[]> | undefined {
  if (settings.gateDirection !== "probe") return undefined;
  const concurrency = Math.max(1, Math.min(options.threads ?? os.availableParallelism(), 4));
  return fitGateProbes(gate.harmful, gate.harmless, concurrency, options.signal);
}
