// Guidance options (InferAligner, method.md) as users give them, resolved against a model and its
// vector files into what the native generation needs.
import { statSync } from "node:fs";
import { LlamaError } from "./errors.js";
import type { LlamaModel } from "./Model.js";
import type { ScoreKind } from "./vectors/stats.js";
import { checkVectorsFitModel, readVectorFile, type VectorFile } from "./vectors/vectorFile.js";

export type GuidanceMode = "steer" | "refuse" | "monitor" | "off";

export interface GuidanceOptions {
  /** The target model's own vector file (or its contents): drives the gate. */
  gate: string | VectorFile;
  /** The aligned model's vector file: theta, the steering direction. Defaults to `gate` (self mode). */
  steer?: string | VectorFile;
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
    steerLayers: number[];
    steerShifts: Float32Array[];
  };
}

export type GateRule = "majority" | "any";

// Parsed files by path, re-read when the file changes (calibrate --save rewrites in place).
const fileCache = new Map<string, { stamp: string; file: VectorFile }>();
function loadVectors(source: string | VectorFile, model: LlamaModel, what: string): VectorFile {
  if (typeof source !== "string") {
    if (source === null || typeof source !== "object") throw new TypeError(`Expected ${what}: a vector file path or a VectorFile`);
    const layers = (source as Partial<VectorFile>).layerCount;
    const complete = ["layers", "directions"].every((k) => Array.isArray((source as unknown as Record<string, unknown>)[k]) && ((source as unknown as Record<string, unknown[]>)[k]!).length === layers);
    if (!complete || !(source as Partial<VectorFile>).suggested) {
      throw new TypeError(`Expected ${what} to be a VectorFile (readVectorFile's result): it needs layers and directions for each of its layerCount blocks, and suggested layers`);
    }
    checkVectorsFitModel(source, model.info, what);
    return source;
  }
  let stamp = "";
  try {
    const st = statSync(source);
    stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
  } catch {
    // readVectorFile below reports the missing file.
  }
  let file = fileCache.get(source)?.stamp === stamp && stamp !== "" ? fileCache.get(source)!.file : undefined;
  if (!file) {
    file = readVectorFile(source);
    fileCache.set(source, { stamp, file });
  }
  checkVectorsFitModel(file, model.info, source);
  return file;
}

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
  if (!o || typeof o !== "object" || o.gate === null || (typeof o.gate !== "string" && typeof o.gate !== "object")) {
    throw new TypeError("Expected guidance.gate: a vector file path or a VectorFile");
  }
  const mode = o.mode ?? "steer";
  if (!["steer", "refuse", "monitor", "off"].includes(mode)) throw new RangeError(`guidance.mode must be steer, refuse, monitor or off, not ${String(mode)}`);
  const score = o.score ?? "cosine";
  if (score !== "cosine" && score !== "projection") throw new RangeError(`guidance.score must be cosine or projection, not ${String(score)}`);
  if (o.alpha !== undefined && o.alphaRelative !== undefined) throw new TypeError("give guidance.alpha or guidance.alphaRelative, not both");
  for (const [name, v] of [["alpha", o.alpha], ["alphaRelative", o.alphaRelative], ["threshold", o.threshold]] as const) {
    if (v !== undefined && (typeof v !== "number" || Number.isNaN(v))) throw new RangeError(`guidance.${name} must be a number, not ${String(v)}`);
  }
  if (o.alpha !== undefined && !Number.isFinite(o.alpha)) throw new RangeError("guidance.alpha must be finite");
  if (o.alphaRelative !== undefined && !Number.isFinite(o.alphaRelative)) throw new RangeError("guidance.alphaRelative must be finite");

  const { layerCount } = model.info;
  const gate = loadVectors(o.gate, model, "gate");
  const steer = o.steer !== undefined ? loadVectors(o.steer, model, "steer") : gate;
  const gateLayers = o.gateLayers === undefined || o.gateLayers === "auto" ? [gate.suggested.gateLayer] : layerList(o.gateLayers, layerCount, "gateLayers");
  const thresholds = gateLayers.map((l) => (o.threshold !== undefined ? o.threshold : gate.layers[l]!.thresholds[score].budget));
  const gateDirections = gateLayers.map((l) => gate.directions[l]!);
  if (o.extraGates !== undefined && !Array.isArray(o.extraGates)) throw new TypeError("guidance.extraGates must be an array of vector files");
  for (const [i, source] of (o.extraGates ?? []).entries()) {
    const extra = loadVectors(source, model, `extraGates[${i}]`);
    if (extra.chatTemplate !== "" && gate.chatTemplate !== "" && extra.chatTemplate !== gate.chatTemplate) {
      throw new LlamaError(`extraGates[${i}] was extracted with another chat template than the gate file`, "ERR_VECTOR_MISMATCH");
    }
    const l = extra.suggested.gateLayer;
    gateLayers.push(l);
    thresholds.push(o.threshold !== undefined ? o.threshold : extra.layers[l]!.thresholds[score].budget);
    gateDirections.push(extra.directions[l]!);
  }
  const gateRule: GateRule = (o.extraGates ?? []).length > 0 ? "any" : "majority";
  let steerLayers: number[];
  if (o.layers === undefined) {
    // Calibrated defaults (inferaligner calibrate --save) win over the extraction's suggestion.
    const [from, to] = steer.defaults?.steerLayers ?? steer.suggested.steerLayers;
    steerLayers = Array.from({ length: to - from + 1 }, (_, i) => from + i);
  } else if (o.layers.length === 2) {
    // Two numbers are a range [from, to], inclusive; give a longer list for separate blocks.
    const [from, to] = o.layers as readonly [number, number];
    if (!Number.isInteger(from) || !Number.isInteger(to)) throw new TypeError("guidance.layers must hold integers");
    if (to < from) throw new RangeError(`guidance.layers [${from}, ${to}] is an empty range`);
    steerLayers = layerList(Array.from({ length: to - from + 1 }, (_, i) => from + i), layerCount, "layers");
  } else {
    steerLayers = layerList(o.layers, layerCount, "layers");
  }
  const steerShifts = steerLayers.map((l) => {
    const alpha = o.alpha ?? (o.alphaRelative ?? steer.defaults?.alphaRelative ?? DEFAULT_ALPHA_RELATIVE) * steer.layers[l]!.meanActivationNorm;
    return steer.directions[l]!.map((x) => x * alpha);
  });
  const refusal = o.refusal ?? DEFAULT_REFUSAL;
  if (typeof refusal !== "string") throw new TypeError("guidance.refusal must be a string");
  return {
    resolved: true,
    mode,
    score,
    gateLayers,
    thresholds,
    gateRule,
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
      steerLayers,
      steerShifts,
    },
  };
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
