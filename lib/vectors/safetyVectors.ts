// The shapes of an extraction's result (method.md, "Objects"): per-layer class means, the unit
// direction between them, the gate thresholds chosen on the calibration prompts and the validation
// metrics on held-out ones. Types only, and the default false-open budget.
import type { ScoreKind } from "../vocabulary.js";

/** Share of harmless prompts the default gate threshold may open. */
export const DEFAULT_FALSE_OPEN_BUDGET = 0.02;

export type GatePooling = "last" | "template";
/** The gate's pooling unless told otherwise (chosen by `npm run bench:gate-study`; README). */
export const DEFAULT_GATE_POOLING: GatePooling = "template";

/**
 * How the gate's direction is found: `"mean-difference"`, the class means' difference (the
 * paper's s_l), or `"probe"`, a logistic-regression probe on the unit-normalised activations.
 */
export type GateDirectionKind = "mean-difference" | "probe";
/** The gate's direction unless told otherwise (chosen by `npm run bench:gate-study`; README). */
export const DEFAULT_GATE_DIRECTION: GateDirectionKind = "probe";

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
  /**
   * Prompts per llama_decode (sequences). Defaults to `4`: without flash attention every token of a
   * decode attends over the whole batch's cells, masked, so larger packs cost more per token
   * (measured on Qwen2.5-Coder: 4 prompts in 256 tokens about 10% faster than 16 in 1024).
   */
  sequences?: number;
  /** Tokens per llama_decode. Defaults to `256`. */
  batchTokens?: number;
  /** CPU threads. Defaults to the context's default (the physical cores). */
  threads?: number;
  /** Most calibration activations kept per class for the per-prompt scores. Defaults to `2048`. */
  scoreSampleLimit?: number;
  /**
   * The gate's default threshold opens at most this share of the harmless prompts (the false-open
   * budget; see ThresholdInfo.budget). Defaults to `DEFAULT_FALSE_OPEN_BUDGET` (0.02).
   */
  falseOpenBudget?: number;
  /**
   * What activation the gate reads: `"last"`, the last prompt token (the paper's gate), or
   * `"template"`, the mean over the tokens the chat template puts after the user's text (e.g.
   * `<|im_end|>\n<|im_start|>assistant\n`). Steering vectors always come from the last token.
   * Defaults to `DEFAULT_GATE_POOLING`.
   */
  gatePooling?: GatePooling;
  /** How the gate's direction is found. Defaults to `DEFAULT_GATE_DIRECTION`. */
  gateDirection?: GateDirectionKind;
  /**
   * The block the file suggests for its gate, instead of the one with the best validation (or
   * calibration) results: e.g. the main gate's block for a file used as an extra gate, so that both
   * are decided in the same pass. A pooled gate cannot read the last block.
   */
  gateLayer?: number;
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
  /**
   * The gate's unit direction when it is not `direction`: the class-mean difference over the
   * pooled activations (`gatePoolTokens` > 1), or a probe's direction (`gateDirectionKind`
   * "probe"). Thresholds and validation are the gate's: scores against this direction.
   */
  gateDirection?: Float32Array;
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
  /** How many of the prompt's last tokens the gate averages (1: the last token only). */
  gatePoolTokens: number;
  /** How the gate's direction was found. */
  gateDirectionKind: GateDirectionKind;
  layers: LayerVectors[];
  suggested: { gateLayer: number; steerLayers: [number, number] };
  /** Per-prompt calibration scores: scores[kind][layer] (a sample if more than scoreSampleLimit prompts). */
  calibrationScores: Record<ScoreKind, Array<{ harmful: number[]; harmless: number[] }>>;
  skipped: Array<{ set: ExtractionProgress["phase"]; index: number; reason: string }>;
  timings: { prompts: number; tokens: number; ms: number; promptsPerSecond: number; tokensPerSecond: number };
}
