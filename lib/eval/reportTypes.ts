// The shape of report.json: what an evaluation measured, per configuration and for the gate. The
// numbers come from lib/eval/metrics.ts and lib/eval/tradeoff.ts; report.md and report.html show
// them through one table model (lib/eval/reportTable.ts).
import type { EvalSetName } from "./items.js";
import type { Verdict } from "./judges.js";
import type { Rate } from "./rates.js";
import type { EvalConfigName, EvalRunIdentity } from "./runEval.js";

export interface JudgeInfo {
  /** Judge of the harmful and jailbreak responses. Over-refusal is always judged by keywords. */
  name: "keyword" | "model";
  markers: number;
  markersSource: string;
  model?: { file: string; sha256: string };
}

export interface ConfigMetrics {
  config: EvalConfigName;
  /** Harmful requests not refused (the primary judge). */
  asr: Rate | null;
  jailbreakAsr: Rate | null;
  /** Harmful and jailbreak responses the model judge gave no verdict for (left out of the ASRs). */
  unjudged: number;
  /** The same, per set, so that each ASR shows what it left out. */
  unjudgedBySet: { harmful: number; jailbreak: number };
  /** Over-refusal probes refused (keyword judge). */
  overRefusal: Rate | null;
  /** Harmless responses identical to the baseline's (null for the baseline itself). */
  preservation: Rate | null;
  /** Harmless items whose gate stayed closed but whose text changed: must be 0. */
  changedWithGateClosed: number;
  /** Items of any set whose gate stayed closed but whose text differs from the baseline's: must be 0. */
  changedWithGateClosedBySet: Record<EvalSetName, number>;
  /** Responses (every set but utility: code repeats itself by nature) in which one repeated word 3-gram covers more than 30% of the words. */
  degenerate: Rate;
  /** The same among the responses whose gate opened (this configuration's steered answers; refuse mode's fixed refusals never loop). */
  degenerateWhenOpen: Rate | null;
  /** Relative ASR reduction against the baseline: 1 - asr / baselineAsr (null when undefined). */
  asrReduction: number | null;
  jailbreakAsrReduction: number | null;
  /** Utility: code answers that pass their tests (pass@1, greedy); null without a utility set. */
  utility: Rate | null;
  /** promptTokensPerSecond: evaluated prompt tokens per second of prefill (null when the records do not say how many were evaluated). */
  speed: Speed;
}

export interface Speed {
  promptTokensPerSecond: number | null;
  generationTokensPerSecond: number;
  generatedTokens: number;
  promptTokens: number;
}

export interface GateMetrics {
  /** Gate open rate per set (from the baseline run, where the gate is computed and not acted on). */
  open: Record<EvalSetName, Rate | null>;
  /** Harmful vs harmless: accuracy of the gate decision and ROC AUC of its score. */
  accuracy: number | null;
  auc: number | null;
  /** Jailbreaks vs harmless. */
  jailbreakAuc: number | null;
  /** Gate score minus threshold (mean over gate layers) per item, per set: > 0 opens. Raw scores when a threshold is infinite (`thresholdFinite` false). */
  margins: Record<EvalSetName, number[]>;
  thresholdFinite: boolean;
}

/**
 * Refuse mode at another gate threshold, computed from the baseline run alone: refuse mode answers
 * with its fixed refusal when the gate opens and, when it stays closed, exactly as unguided (tested
 * bit for bit), so every rate at any threshold follows from the baseline's scores and answers.
 */
export interface RefuseTradeoffRow {
  threshold: number;
  /** "run" (this run's threshold) or "harmless open <= x%" (chosen on this run's harmless prompts: in-sample). */
  label: string;
  asr: Rate | null;
  jailbreakAsr: Rate | null;
  overRefusal: Rate | null;
  preservation: Rate | null;
  harmfulOpen: Rate | null;
  harmlessOpen: Rate | null;
}

export interface EvalSample {
  set: EvalSetName;
  prompt: string;
  gateOpen: boolean | null;
  responses: Partial<Record<EvalConfigName, { text: string; refused: boolean | null; by: Verdict["by"] }>>;
}

export interface EvalReport {
  generatedAt: string;
  versions: { inferaligner: string; nodeLlamaCpp: string; llamaCppCommit: string; node: string };
  identity: EvalRunIdentity;
  judge: JudgeInfo;
  counts: Record<EvalSetName, number>;
  errors: Array<{ key: string; config: EvalConfigName; error: string }>;
  excluded: Record<EvalSetName, number>;
  configs: ConfigMetrics[];
  gate: GateMetrics;
  /** Null unless the gate is one layer with a finite threshold. */
  refuseTradeoff: RefuseTradeoffRow[] | null;
  samples: EvalSample[];
}
