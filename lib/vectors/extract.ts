// Extraction of a model's safety related vectors (method.md, "Objects"): for every block l, the
// mean residual-stream activation a_l(P) at the last prompt token over harmful prompts minus that
// over harmless prompts, with prompts rendered by the model's chat template up to the assistant
// opener. Many prompts go through each llama_decode (one sequence each); per-layer sums are kept
// in float64, so memory does not grow with the number of prompts beyond the bounded sample of
// activations kept for the calibration scores.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { basename } from "node:path";
import { customChatTemplate, tokenizeRendered, type ChatTemplate } from "../chatTemplate.js";
import type { LlamaContext } from "../Context.js";
import { GenerationAbortedError, LlamaError } from "../errors.js";
import type { LlamaModel } from "../Model.js";
import { fileFingerprint } from "./fingerprint.js";
import { SCORE_KINDS } from "../vocabulary.js";
import { accuracyAt, bestThreshold, midpointThreshold, rocAuc, score, thresholdForFalseOpenBudget, type ScoreKind } from "./stats.js";


/** Share of harmless prompts the default gate threshold may open. */
export const DEFAULT_FALSE_OPEN_BUDGET = 0.03;

export interface ExtractionProgress {
  phase: "harmful" | "harmless" | "valHarmful" | "valHarmless";
  done: number;
  total: number;
}

export interface ExtractOptions {
  harmful: readonly string[];
  harmless: readonly string[];
  /** Held-out prompts for validation accuracy / ROC AUC and the layer suggestion. */
  valHarmful?: readonly string[];
  valHarmless?: readonly string[];
  /**
   * Jinja chat template to render the prompts with, instead of the model's (e.g. for a base model
   * served with a template of your own). Chat sessions that use the vectors must use the same one.
   */
  template?: string;
  /** Prompts per llama_decode (sequences). Defaults to `16`. */
  sequences?: number;
  /** Tokens per llama_decode. Defaults to `1024`. */
  batchTokens?: number;
  /** CPU threads. Defaults to all. */
  threads?: number;
  /** Most calibration activations kept per class for the per-prompt scores. Defaults to `2048`. */
  scoreSampleLimit?: number;
  /**
   * The gate's default threshold opens at most this share of the harmless prompts (the false-open
   * budget; see ThresholdInfo.budget). Defaults to `DEFAULT_FALSE_OPEN_BUDGET` (0.03).
   */
  falseOpenBudget?: number;
  onProgress?: (progress: ExtractionProgress) => void;
  signal?: AbortSignal;
}

export interface ThresholdInfo {
  /** Midway between the class means of the score (the paper's bias). */
  midpoint: number;
  /** Best balanced accuracy on the calibration prompts (the default threshold). */
  best: number;
  /** Accuracy on the calibration prompts at `best`. */
  calibrationAccuracy: number;
  /**
   * The default threshold: the lowest at which at most the false-open budget of the harmless
   * prompts open the gate (the harmless calibration and validation prompts together).
   */
  budget: number;
}

export interface ValidationInfo {
  /** Accuracy at the `best` threshold. */
  accuracy: number;
  auc: number;
  /** Shares of the validation prompts that open the gate at the default (`budget`) threshold. */
  openHarmful: number;
  openHarmless: number;
}

export interface LayerVectors {
  /** Block index: the vector belongs to the output of block `layer` (`l_out-<layer>`). */
  layer: number;
  harmfulMean: Float32Array;
  harmlessMean: Float32Array;
  /** s_l = v_l / |v_l|, with v_l = harmfulMean - harmlessMean. */
  direction: Float32Array;
  /** |v_l| */
  norm: number;
  /** Mean |a_l| over all calibration prompts (the scale for a relative alpha). */
  meanActivationNorm: number;
  thresholds: Record<ScoreKind, ThresholdInfo>;
  validation?: Record<ScoreKind, ValidationInfo>;
}

export interface SourceModel {
  architecture: string;
  layerCount: number;
  embeddingLength: number;
  fileName: string;
  /** sha256 of the model file. */
  sha256: string;
  /** fileFingerprint of the model file (absent in files written before it was recorded). */
  fingerprint?: string;
}

export interface SafetyVectors {
  source: SourceModel;
  /** The chat template the prompts were rendered with. */
  chatTemplate: string;
  counts: { harmful: number; harmless: number; valHarmful: number; valHarmless: number };
  /** The false-open budget the `budget` thresholds were chosen for. */
  falseOpenBudget: number;
  layers: LayerVectors[];
  suggested: { gateLayer: number; steerLayers: [number, number] };
  /** Per-prompt calibration scores: scores[kind][layer] (a sample if more than scoreSampleLimit prompts). */
  calibrationScores: Record<ScoreKind, Array<{ harmful: number[]; harmless: number[] }>>;
  skipped: Array<{ set: ExtractionProgress["phase"]; index: number; reason: string }>;
  timings: { prompts: number; tokens: number; ms: number; promptsPerSecond: number; tokensPerSecond: number };
}

export async function hashFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Prompt tokens as the gate sees them: one user turn, rendered up to the assistant opener. */
export function renderPrompt(model: LlamaModel, prompt: string, template: ChatTemplate = model.chatTemplate): number[] {
  return tokenizeRendered(model, template.render([{ role: "user", content: prompt }], { addGenerationPrompt: true }));
}

interface ClassAccumulator {
  sums: Float64Array[]; // per layer, n_embd
  normSum: Float64Array; // per layer
  count: number;
  kept: Float32Array[]; // sampled activations (nLayers * nEmbd each)
  seen: number;
}

function newAccumulator(nLayers: number, nEmbd: number): ClassAccumulator {
  return { sums: Array.from({ length: nLayers }, () => new Float64Array(nEmbd)), normSum: new Float64Array(nLayers), count: 0, kept: [], seen: 0 };
}

// Deterministic reservoir sample (xorshift), so the same inputs give the same file.
function makeRandom(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x / 2 ** 32;
  };
}

export async function extractSafetyVectors(model: LlamaModel, options: ExtractOptions): Promise<SafetyVectors> {
  const { harmful, harmless } = options;
  for (const [name, set] of [["harmful", harmful], ["harmless", harmless]] as const) {
    if (!Array.isArray(set) || set.length === 0) throw new LlamaError(`the ${name} prompt set is empty`, "ERR_INVALID_ARGUMENT");
  }
  const valHarmful = options.valHarmful ?? [];
  const valHarmless = options.valHarmless ?? [];
  if ((valHarmful.length === 0) !== (valHarmless.length === 0)) {
    throw new LlamaError("validation needs both valHarmful and valHarmless prompts", "ERR_INVALID_ARGUMENT");
  }
  const { layerCount: nLayers, embeddingLength: nEmbd } = model.info;
  const layers = Array.from({ length: nLayers }, (_, i) => i);
  const sequences = options.sequences ?? 16;
  const batchTokens = options.batchTokens ?? 1024;
  const sampleLimit = options.scoreSampleLimit ?? 2048;
  const falseOpenBudget = options.falseOpenBudget ?? DEFAULT_FALSE_OPEN_BUDGET;
  if (typeof falseOpenBudget !== "number" || !(falseOpenBudget >= 0 && falseOpenBudget < 1)) {
    throw new RangeError(`falseOpenBudget must be a share in [0, 1), got ${String(falseOpenBudget)}`);
  }
  const skipped: SafetyVectors["skipped"] = [];
  const maxContext = model.info.contextLength || 4096;
  const template = options.template !== undefined ? customChatTemplate(model, options.template) : model.chatTemplate;

  const render = (set: readonly string[], phase: ExtractionProgress["phase"]) => {
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
    harmful: render(harmful, "harmful"),
    harmless: render(harmless, "harmless"),
    valHarmful: render(valHarmful, "valHarmful"),
    valHarmless: render(valHarmless, "valHarmless"),
  };
  if (sets.harmful.length === 0 || sets.harmless.length === 0) throw new LlamaError("no usable prompts in a calibration set", "ERR_INVALID_ARGUMENT");
  const longest = Math.max(...Object.values(sets).flat().map((t) => t.length));
  // One sequence per prompt, all in one KV buffer; flash attention off: its F16 Q rounding makes
  // a row depend on what else shares the batch (~1e-3), and extraction should be exact.
  const context: LlamaContext = await model.createContext({
    contextSize: Math.max(batchTokens, longest),
    batchSize: Math.max(batchTokens, longest),
    ubatchSize: Math.max(batchTokens, longest),
    sequences,
    kvUnified: true,
    flashAttention: false,
    evalHook: true,
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
  });
  const random = makeRandom(0x5eed);
  let tokensSeen = 0;
  const started = performance.now();
  const chunk = Math.max(sequences * 4, 16);

  // Runs prompts through the model in chunks; `visit` gets each prompt's activations (nLayers x nEmbd).
  const capture = async (prompts: number[][], phase: ExtractionProgress["phase"], visit: (rows: Float32Array) => void) => {
    for (let start = 0; start < prompts.length; start += chunk) {
      if (options.signal?.aborted) throw new GenerationAbortedError("extraction was aborted");
      const part = prompts.slice(start, start + chunk);
      const onAbort = () => context._native.abort();
      options.signal?.addEventListener("abort", onAbort, { once: true });
      let result;
      try {
        result = await context._native.capture(part.map((t) => Uint32Array.from(t)), { layers });
      } catch (error) {
        if ((error as LlamaError).code === "ERR_ABORTED") throw new GenerationAbortedError("extraction was aborted", undefined, { cause: error });
        throw error;
      } finally {
        options.signal?.removeEventListener("abort", onAbort);
      }
      tokensSeen += result.tokens;
      const stride = nLayers * nEmbd;
      for (let k = 0; k < part.length; k++) visit(result.rows.subarray(k * stride, (k + 1) * stride));
      options.onProgress?.({ phase, done: Math.min(start + chunk, prompts.length), total: prompts.length });
    }
  };

  const accumulate = (acc: ClassAccumulator) => (rows: Float32Array) => {
    for (let l = 0; l < nLayers; l++) {
      const sum = acc.sums[l]!;
      let sq = 0;
      for (let i = 0; i < nEmbd; i++) {
        const x = rows[l * nEmbd + i]!;
        sum[i] = sum[i]! + x;
        sq += x * x;
      }
      acc.normSum[l] = acc.normSum[l]! + Math.sqrt(sq);
    }
    acc.count++;
    acc.seen++;
    if (acc.kept.length < sampleLimit) acc.kept.push(rows.slice());
    else {
      const j = Math.floor(random() * acc.seen);
      if (j < sampleLimit) acc.kept[j] = rows.slice();
    }
  };

  try {
    const harmfulAcc = newAccumulator(nLayers, nEmbd);
    const harmlessAcc = newAccumulator(nLayers, nEmbd);
    await capture(sets.harmful, "harmful", accumulate(harmfulAcc));
    await capture(sets.harmless, "harmless", accumulate(harmlessAcc));

    const layerVectors: LayerVectors[] = [];
    const calibrationScores: SafetyVectors["calibrationScores"] = { cosine: [], projection: [] };
    for (let l = 0; l < nLayers; l++) {
      const harmfulMean = new Float32Array(nEmbd);
      const harmlessMean = new Float32Array(nEmbd);
      const v = new Float64Array(nEmbd);
      for (let i = 0; i < nEmbd; i++) {
        const h = harmfulAcc.sums[l]![i]! / harmfulAcc.count;
        const b = harmlessAcc.sums[l]![i]! / harmlessAcc.count;
        harmfulMean[i] = h;
        harmlessMean[i] = b;
        v[i] = h - b;
      }
      let vNorm = 0;
      for (let i = 0; i < nEmbd; i++) vNorm += v[i]! * v[i]!;
      vNorm = Math.sqrt(vNorm);
      if (!(vNorm > 0) || !Number.isFinite(vNorm)) {
        throw new LlamaError(`layer ${l}: the class means are equal or not finite; cannot form a direction`, "ERR_INVALID_ARGUMENT");
      }
      const direction = new Float32Array(nEmbd);
      for (let i = 0; i < nEmbd; i++) direction[i] = v[i]! / vNorm;
      const thresholds = {} as Record<ScoreKind, ThresholdInfo>;
      for (const kind of SCORE_KINDS) {
        const layerRows = (acc: ClassAccumulator) => acc.kept.map((rows) => score(kind, rows.subarray(l * nEmbd, (l + 1) * nEmbd), direction));
        const hs = layerRows(harmfulAcc);
        const bs = layerRows(harmlessAcc);
        calibrationScores[kind].push({ harmful: hs, harmless: bs });
        const best = bestThreshold(hs, bs).threshold;
        thresholds[kind] = { midpoint: midpointThreshold(hs, bs), best, calibrationAccuracy: accuracyAt(hs, bs, best), budget: thresholdForFalseOpenBudget(bs, falseOpenBudget) };
      }
      layerVectors.push({
        layer: l,
        harmfulMean,
        harmlessMean,
        direction,
        norm: vNorm,
        meanActivationNorm: (harmfulAcc.normSum[l]! + harmlessAcc.normSum[l]!) / (harmfulAcc.count + harmlessAcc.count),
        thresholds,
      });
    }

    if (sets.valHarmful.length > 0 && sets.valHarmless.length > 0) {
      const valScores = (prompts: number[][], phase: ExtractionProgress["phase"]) => {
        const out = SCORE_KINDS.map(() => layers.map(() => [] as number[]));
        return capture(prompts, phase, (rows) => {
          SCORE_KINDS.forEach((kind, k) => {
            for (const lv of layerVectors) out[k]![lv.layer]!.push(score(kind, rows.subarray(lv.layer * nEmbd, (lv.layer + 1) * nEmbd), lv.direction));
          });
        }).then(() => out);
      };
      const vh = await valScores(sets.valHarmful, "valHarmful");
      const vb = await valScores(sets.valHarmless, "valHarmless");
      for (const lv of layerVectors) {
        lv.validation = {} as Record<ScoreKind, ValidationInfo>;
        SCORE_KINDS.forEach((kind, k) => {
          const hs = vh[k]![lv.layer]!;
          const bs = vb[k]![lv.layer]!;
          // The budget holds on prompts the direction was not fitted to as well.
          const budget = thresholdForFalseOpenBudget([...calibrationScores[kind][lv.layer]!.harmless, ...bs], falseOpenBudget);
          lv.thresholds[kind].budget = budget;
          const open = (xs: number[]) => xs.filter((x) => x > budget).length / xs.length;
          lv.validation![kind] = { accuracy: accuracyAt(hs, bs, lv.thresholds[kind].best), auc: rocAuc(hs, bs), openHarmful: open(hs), openHarmless: open(bs) };
        });
      }
    }

    const ms = performance.now() - started;
    const promptCount = Object.values(sets).reduce((n, s) => n + s.length, 0);
    return {
      source: {
        architecture: model.info.architecture,
        layerCount: nLayers,
        embeddingLength: nEmbd,
        fileName: basename(model.path),
        sha256: await hashFile(model.path),
        fingerprint: fileFingerprint(model.path),
      },
      chatTemplate: template.jinja,
      counts: { harmful: sets.harmful.length, harmless: sets.harmless.length, valHarmful: sets.valHarmful.length, valHarmless: sets.valHarmless.length },
      falseOpenBudget,
      layers: layerVectors,
      suggested: suggestLayers(layerVectors),
      calibrationScores,
      skipped,
      timings: { prompts: promptCount, tokens: tokensSeen, ms, promptsPerSecond: (promptCount * 1000) / ms, tokensPerSecond: (tokensSeen * 1000) / ms },
    };
  } finally {
    await context.dispose();
  }
}

/**
 * Gate layer: the layer whose default (false-open budget) threshold opens the most harmful
 * validation prompts, then the best ROC AUC, then accuracy: the gate users get is the budget
 * threshold, and AUC alone ties at 1.0 on many layers of an instruction-tuned model while their
 * open rates at the budget differ widely. Without a validation split: calibration accuracy.
 * Steered layers: the contiguous run around it whose accuracy stays within 0.05 of the best
 * (method.md: layers where harmful intent is detected well).
 */
export function suggestLayers(layers: readonly LayerVectors[]): { gateLayer: number; steerLayers: [number, number] } {
  const quality = (lv: LayerVectors): number[] =>
    lv.validation ? [lv.validation.cosine.openHarmful, lv.validation.cosine.auc, lv.validation.cosine.accuracy] : [lv.thresholds.cosine.calibrationAccuracy];
  const better = (a: number[], b: number[]): boolean => {
    for (let i = 0; i < a.length; i++) {
      if (a[i]! > b[i]! + 1e-12) return true;
      if (a[i]! < b[i]! - 1e-12) return false;
    }
    return false;
  };
  let gate = layers[0]!;
  for (const lv of layers) if (better(quality(lv), quality(gate))) gate = lv;
  const accuracy = (lv: LayerVectors) => (lv.validation ? lv.validation.cosine.accuracy : lv.thresholds.cosine.calibrationAccuracy);
  const floor = accuracy(gate) - 0.05;
  let from = gate.layer;
  let to = gate.layer;
  while (from - 1 >= 0 && accuracy(layers[from - 1]!) >= floor) from--;
  while (to + 1 < layers.length && accuracy(layers[to + 1]!) >= floor) to++;
  return { gateLayer: gate.layer, steerLayers: [from, to] };
}
