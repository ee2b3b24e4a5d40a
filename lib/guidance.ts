// Guidance options (InferAligner, method.md) as users give them, resolved against a model and its
// vector files into what the native generation needs. Reading the files is guidanceFiles.ts.
import { LlamaError } from "./errors.js";
import type { LlamaModel } from "./Model.js";
import { GUIDANCE_MODES, SCORE_KINDS, isOneOf, listOf, type GuidanceMode, type ScoreKind } from "./vocabulary.js";
import { isControlVector, type ControlVector } from "./vectors/controlVector.js";
import type { VectorFile } from "./vectors/vectorFile.js";
import { loadGateFile, loadSteeringFile, warnIfGateOfAnotherModel } from "./guidanceFiles.js";

export { OTHER_MODEL_GATE_WARNING } from "./guidanceFiles.js";
export type { GuidanceMode } from "./vocabulary.js";

export interface GuidanceOptions {
  /** The target model's own vector file (or its contents): drives the gate. */
  gate: string | VectorFile;
  /**
   * The aligned model's vector file: theta, the steering direction. Defaults to `gate` (self mode).
   * A plain llama.cpp control vector steers too: its stored vectors times `alpha` (default 1, as
   * llama.cpp's --control-vector), on the blocks it has directions for unless `layers` says otherwise.
   */
  steer?: string | VectorFile | ControlVector;
  /** Absolute strength: the unit steering vector times alpha. */
  alpha?: number;
  /** Relative strength: alpha = alphaRelative x the layer's mean activation norm (from the steer file). Defaults to the steer file's calibrated default, else `0.05`, when alpha is not given. */
  alphaRelative?: number;
  /** Steered blocks: [from, to] inclusive (two numbers), or a longer list. Defaults to the steer file's calibrated range, else its suggested range. */
  layers?: readonly [number, number] | readonly number[];
  /** Gate blocks; "auto" = the gate file's suggested gate layer. Defaults to `"auto"`. Several layers vote (open when at least half say open). */
  gateLayers?: readonly number[] | "auto";
  /**
   * Further gate files of the target model, e.g. vectors extracted from prompts inside jailbreak
   * templates (`inferaligner extract --templates`), each read at its suggested gate layer with its
   * false-open-budget threshold. With any, the gate opens when any one gate entry opens (the
   * `gate` file's layers included). Defaults to none.
   */
  extraGates?: ReadonlyArray<string | VectorFile>;
  /** Gate score. Defaults to `"cosine"`. */
  score?: ScoreKind;
  /** Threshold for every gate layer, instead of the file's (its false-open budget's; -Infinity: always open). */
  threshold?: number;
  /** steer (InferAligner), refuse (answer with `refusal` when the gate opens), monitor (report only), off. Defaults to `"steer"`. */
  mode?: GuidanceMode;
  /** The fixed answer of refuse mode. Defaults to a short refusal. */
  refusal?: string;
}

export interface GateLayerReport {
  layer: number;
  score: number;
  threshold: number;
}

/** What every guided turn reports. */
export interface GateReport {
  open: boolean;
  mode: GuidanceMode;
  layers: GateLayerReport[];
}

export const DEFAULT_REFUSAL = "I can't help with that request.";
export const DEFAULT_ALPHA_RELATIVE = 0.05;

/** Guidance resolved for one model: cheap to reuse across turns. */
export interface ResolvedGuidance {
  readonly resolved: true;
  mode: GuidanceMode;
  score: ScoreKind;
  /** One entry per gate direction: its block and threshold (the gate file's first, then extraGates'). */
  gateLayers: number[];
  thresholds: number[];
  /** majority: at least half of the entries open the gate; any: one does (with extraGates). */
  gateRule: GateRule;
  /** How many of the prompt's last tokens the gate averages (the gate file's; 1: the last token). */
  gatePoolTokens: number;
  steerLayers: number[];
  refusal: string;
  /** The chat template the gate file's prompts were rendered with ("" when the file does not say). */
  gateChatTemplate: string;
  /** Passed to the addon. @internal */
  native: {
    mode: GuidanceMode;
    score: ScoreKind;
    gateLayers: number[];
    gateDirections: Float32Array[];
    thresholds: number[];
    gateRule: GateRule;
    gatePoolTokens: number;
    steerLayers: number[];
    steerShifts: Float32Array[];
  };
}

export type GateRule = "majority" | "any";

function layerList(spec: readonly number[], layerCount: number, name: string): number[] {
  if (!Array.isArray(spec) || spec.length === 0) throw new RangeError(`${name} is empty`);
  for (const l of spec) {
    if (!Number.isInteger(l)) throw new TypeError(`Expected integer block indices for ${name} but received ${String(l)}`);
    if (l < 0 || l >= layerCount) throw new RangeError(`${name}: block ${l} is outside 0..${layerCount - 1}`);
  }
  return [...new Set(spec)];
}

/** Resolves guidance options against a model (reads and checks the vector files). */
export function resolveGuidance(model: LlamaModel, options: GuidanceOptions | ResolvedGuidance): ResolvedGuidance {
  if ((options as ResolvedGuidance).resolved) return options as ResolvedGuidance;
  const o = options as GuidanceOptions;
  const { mode, score } = checkGuidanceOptions(o);
  const gate = loadGateFile(o.gate, model, "gate");
  warnIfGateOfAnotherModel(gate, model, "gate");
  const steer = o.steer !== undefined ? loadSteeringFile(o.steer, model) : gate;
  if (isControlVector(steer) && o.alphaRelative !== undefined) {
    throw new RangeError(
      "guidance.alphaRelative needs the activation norms of an InferAligner vector file; a plain control vector steers with guidance.alpha (the stored vector x alpha, default 1)",
    );
  }
  const { gateLayers, thresholds, gateDirections, gateRule, gatePoolTokens } = resolveGates(o, model, gate, score);
  const steerLayers = resolveSteerLayers(o.layers, steer, model.info.layerCount);
  const steerShifts = steerLayers.map((l) => steerShift(steer, l, o));
  const refusal = o.refusal ?? DEFAULT_REFUSAL;
  if (typeof refusal !== "string") throw new TypeError("guidance.refusal must be a string");
  return {
    resolved: true,
    mode,
    score,
    gateLayers,
    thresholds,
    gateRule,
    gatePoolTokens,
    steerLayers,
    refusal,
    gateChatTemplate: gate.chatTemplate,
    native: {
      mode,
      score,
      gateLayers,
      gateDirections,
      thresholds,
      gateRule,
      gatePoolTokens,
      steerLayers,
      steerShifts,
    },
  };
}

/** The options that need no file: their types and ranges; mode and score with their defaults. */
function checkGuidanceOptions(o: GuidanceOptions): { mode: GuidanceMode; score: ScoreKind } {
  if (!o || typeof o !== "object" || o.gate === null || (typeof o.gate !== "string" && typeof o.gate !== "object")) {
    throw new TypeError("Expected guidance.gate: a vector file path or a VectorFile");
  }
  const mode = o.mode ?? "steer";
  if (!isOneOf(GUIDANCE_MODES, mode)) throw new RangeError(`guidance.mode must be ${listOf(GUIDANCE_MODES)}, not ${String(mode)}`);
  const score = o.score ?? "cosine";
  if (!isOneOf(SCORE_KINDS, score)) throw new RangeError(`guidance.score must be ${listOf(SCORE_KINDS)}, not ${String(score)}`);
  if (o.alpha !== undefined && o.alphaRelative !== undefined) throw new TypeError("give guidance.alpha or guidance.alphaRelative, not both");
  for (const [name, v] of [
    ["alpha", o.alpha],
    ["alphaRelative", o.alphaRelative],
    ["threshold", o.threshold],
  ] as const) {
    if (v !== undefined && (typeof v !== "number" || Number.isNaN(v))) throw new RangeError(`guidance.${name} must be a number, not ${String(v)}`);
  }
  if (o.alpha !== undefined && !Number.isFinite(o.alpha)) throw new RangeError("guidance.alpha must be finite");
  if (o.alphaRelative !== undefined && !Number.isFinite(o.alphaRelative)) throw new RangeError("guidance.alphaRelative must be finite");
  return { mode, score };
}

/**
 * The gate entries: the gate file's layers (its suggested one by default), then each extra gate
 * file at its suggested layer; each with its direction and threshold (the file's false-open
 * budget's, unless `threshold` overrides every one).
 */
function resolveGates(o: GuidanceOptions, model: LlamaModel, gate: VectorFile, score: ScoreKind) {
  const gateLayers =
    o.gateLayers === undefined || o.gateLayers === "auto" ? [gate.suggested.gateLayer] : layerList(o.gateLayers, model.info.layerCount, "gateLayers");
  const thresholds = gateLayers.map((l) => (o.threshold !== undefined ? o.threshold : gate.layers[l]!.thresholds[score].budget));
  const gatePoolTokens = gate.gatePoolTokens ?? 1;
  // llama.cpp keeps only the last token's row in the last block's output.
  const last = model.info.layerCount - 1;
  if (gatePoolTokens > 1 && gateLayers.includes(last)) {
    throw new RangeError(`gateLayers: the gate file's gate averages ${gatePoolTokens} tokens and cannot read the last block (${last}); choose an earlier one`);
  }
  const gateDirections = gateLayers.map((l) => (gate.gateDirections ?? gate.directions)[l]!);
  if (o.extraGates !== undefined && !Array.isArray(o.extraGates)) throw new TypeError("guidance.extraGates must be an array of vector files");
  for (const [i, source] of (o.extraGates ?? []).entries()) {
    const extra = loadGateFile(source, model, `extraGates[${i}]`);
    warnIfGateOfAnotherModel(extra, model, `extraGates[${i}]`);
    if (extra.chatTemplate !== "" && gate.chatTemplate !== "" && extra.chatTemplate !== gate.chatTemplate) {
      throw new LlamaError(`extraGates[${i}] was extracted with another chat template than the gate file`, "ERR_VECTOR_MISMATCH");
    }
    if ((extra.gatePoolTokens ?? 1) !== gatePoolTokens) {
      throw new LlamaError(
        `extraGates[${i}]'s gate averages ${extra.gatePoolTokens} token(s) and the gate file's ${gatePoolTokens}: extract both with the same gate pooling`,
        "ERR_VECTOR_MISMATCH",
      );
    }
    const l = extra.suggested.gateLayer;
    gateLayers.push(l);
    thresholds.push(o.threshold !== undefined ? o.threshold : extra.layers[l]!.thresholds[score].budget);
    gateDirections.push((extra.gateDirections ?? extra.directions)[l]!);
  }
  const gateRule: GateRule = (o.extraGates ?? []).length > 0 ? "any" : "majority";
  return { gateLayers, thresholds, gateDirections, gateRule, gatePoolTokens };
}

/** The steered blocks: as given (two numbers are a range), else the steering file's defaults. */
function resolveSteerLayers(layers: GuidanceOptions["layers"], steer: VectorFile | ControlVector, layerCount: number): number[] {
  if (layers === undefined && isControlVector(steer)) {
    // As llama.cpp applies a control vector: every block it has a direction for.
    return steer.layers;
  }
  if (layers === undefined) {
    // Calibrated defaults (inferaligner calibrate --save) win over the extraction's suggestion.
    const file = steer as VectorFile;
    const [from, to] = file.defaults?.steerLayers ?? file.suggested.steerLayers;
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  }
  if (layers.length === 2) {
    // Two numbers are a range [from, to], inclusive; give a longer list for separate blocks.
    const [from, to] = layers as readonly [number, number];
    if (!Number.isInteger(from) || !Number.isInteger(to)) throw new TypeError("guidance.layers must hold integers");
    if (to < from) throw new RangeError(`guidance.layers [${from}, ${to}] is an empty range`);
    return layerList(
      Array.from({ length: to - from + 1 }, (_, i) => from + i),
      layerCount,
      "layers",
    );
  }
  return layerList(layers, layerCount, "layers");
}

/**
 * What steering adds to block `l`'s output: a plain control vector's stored vector x alpha (default
 * 1); a vector file's unit direction x alpha, where alpha is absolute or relative to the block's
 * mean activation norm (the file's calibrated default, else DEFAULT_ALPHA_RELATIVE).
 */
function steerShift(steer: VectorFile | ControlVector, l: number, o: Pick<GuidanceOptions, "alpha" | "alphaRelative">): Float32Array {
  if (isControlVector(steer)) {
    const direction = steer.directions[l];
    if (!direction) throw new RangeError(`guidance.layers: the control vector has no direction for block ${l} (it has ${steer.layers.join(", ")})`);
    const alpha = o.alpha ?? 1;
    return direction.map((x) => x * alpha);
  }
  const alpha = o.alpha ?? (o.alphaRelative ?? steer.defaults?.alphaRelative ?? DEFAULT_ALPHA_RELATIVE) * steer.layers[l]!.meanActivationNorm;
  return steer.directions[l]!.map((x) => x * alpha);
}

/**
 * The gate's thresholds hold for prompts rendered the way the gate file's prompts were: a chat
 * session with another template would be gated on activations the file never saw.
 */
export function checkGateTemplate(g: ResolvedGuidance, sessionTemplate: string): void {
  if (g.mode === "off" || g.gateChatTemplate === "" || g.gateChatTemplate === sessionTemplate) return;
  throw new LlamaError(
    "the gate file was extracted with another chat template than this chat session's; extract the vectors with the " +
      "session's template (extractSafetyVectors({ template }) or `inferaligner extract --chat-template <file>`) or use the file's",
    "ERR_VECTOR_MISMATCH",
  );
}

export function gateReport(g: ResolvedGuidance, raw: { open: boolean; scores: number[] }): GateReport {
  return { open: raw.open, mode: g.mode, layers: g.gateLayers.map((layer, i) => ({ layer, score: raw.scores[i]!, threshold: g.thresholds[i]! })) };
}
