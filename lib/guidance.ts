// Guidance options (InferAligner, method.md) as users give them, resolved against a model and its
// vector files into what the native generation needs.
import { statSync } from "node:fs";
import { basename } from "node:path";
import { LlamaError } from "./errors.js";
import type { LlamaModel } from "./Model.js";
import { GUIDANCE_MODES, SCORE_KINDS, isOneOf, listOf, type GuidanceMode, type ScoreKind } from "./vocabulary.js";
import { fileFingerprint } from "./vectors/fingerprint.js";
import { isControlVector, type ControlVector } from "./vectors/controlVector.js";
import { checkControlVectorFitsModel, checkVectorsFitModel, readSteeringFile, readVectorFile, type VectorFile } from "./vectors/vectorFile.js";

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
const fileCache = new Map<string, { stamp: string; file: VectorFile | ControlVector }>();
function readCached<T extends VectorFile | ControlVector>(path: string, role: "gate" | "steer", read: (path: string) => T): T {
  let stamp = "";
  try {
    const st = statSync(path);
    stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
  } catch {
    // read() below reports the missing file.
  }
  // By role: a plain control vector is a steering file and must still be refused as a gate.
  const key = `${role}:${path}`;
  const hit = fileCache.get(key);
  if (hit && hit.stamp === stamp && stamp !== "") return hit.file as T;
  const file = read(path);
  fileCache.set(key, { stamp, file });
  return file;
}

function checkVectorObject(source: VectorFile, model: LlamaModel, what: string): VectorFile {
  if (source === null || typeof source !== "object") throw new TypeError(`Expected ${what}: a vector file path or a VectorFile`);
  const layers = (source as Partial<VectorFile>).layerCount;
  const complete = ["layers", "directions"].every((k) => Array.isArray((source as unknown as Record<string, unknown>)[k]) && ((source as unknown as Record<string, unknown[]>)[k]!).length === layers);
  if (!complete || !(source as Partial<VectorFile>).suggested) {
    throw new TypeError(`Expected ${what} to be a VectorFile (readVectorFile's result): it needs layers and directions for each of its layerCount blocks, and suggested layers`);
  }
  checkVectorsFitModel(source, model.info, what);
  return source;
}

/** A gate file: an InferAligner vector file of the target model. */
function loadVectors(source: string | VectorFile, model: LlamaModel, what: string): VectorFile {
  if (typeof source !== "string") return checkVectorObject(source, model, what);
  const file = readCached(source, "gate", (p) => readVectorFile(p));
  checkVectorsFitModel(file, model.info, source);
  return file;
}

/** A steering file: an InferAligner vector file (of any model of this shape) or a plain llama.cpp control vector. */
function loadSteering(source: string | VectorFile | ControlVector, model: LlamaModel): VectorFile | ControlVector {
  if (typeof source === "string") {
    const file = readCached(source, "steer", (p) => readSteeringFile(p));
    if (isControlVector(file)) checkControlVectorFitsModel(file, model.info, source);
    else checkVectorsFitModel(file, model.info, source);
    return file;
  }
  if (isControlVector(source)) {
    checkControlVectorFitsModel(source, model.info, "steer");
    return source;
  }
  return checkVectorObject(source as VectorFile, model, "steer");
}

/** A gate file's thresholds hold only for the activations of the model it was extracted from. */
export const OTHER_MODEL_GATE_WARNING = "INFERALIGNER_GATE_OF_ANOTHER_MODEL";
const warnedOtherModel = new Set<string>();
function warnIfGateOfAnotherModel(file: VectorFile, model: LlamaModel, what: string): void {
  const recorded = file.source.fingerprint;
  if (!recorded) return; // written before fingerprints were recorded: nothing to compare
  let actual: string;
  try {
    actual = fileFingerprint(model.path);
  } catch {
    return; // the model file is gone (moved after loading): nothing to compare
  }
  const key = `${recorded}\0${model.path}`;
  if (recorded === actual || warnedOtherModel.has(key)) return;
  warnedOtherModel.add(key);
  process.emitWarning(
    `the ${what} file was extracted from ${file.source.fileName}, not from the model in use (${basename(model.path)}): ` +
      "its gate thresholds were set on another model's activations, so the gate may open or stay closed wrongly. " +
      "Extract the gate's vectors from this model (a cross-model setup steers with the other model's file: --steer)",
    { code: OTHER_MODEL_GATE_WARNING },
  );
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
  if (!isOneOf(GUIDANCE_MODES, mode)) throw new RangeError(`guidance.mode must be ${listOf(GUIDANCE_MODES)}, not ${String(mode)}`);
  const score = o.score ?? "cosine";
  if (!isOneOf(SCORE_KINDS, score)) throw new RangeError(`guidance.score must be ${listOf(SCORE_KINDS)}, not ${String(score)}`);
  if (o.alpha !== undefined && o.alphaRelative !== undefined) throw new TypeError("give guidance.alpha or guidance.alphaRelative, not both");
  for (const [name, v] of [["alpha", o.alpha], ["alphaRelative", o.alphaRelative], ["threshold", o.threshold]] as const) {
    if (v !== undefined && (typeof v !== "number" || Number.isNaN(v))) throw new RangeError(`guidance.${name} must be a number, not ${String(v)}`);
  }
  if (o.alpha !== undefined && !Number.isFinite(o.alpha)) throw new RangeError("guidance.alpha must be finite");
  if (o.alphaRelative !== undefined && !Number.isFinite(o.alphaRelative)) throw new RangeError("guidance.alphaRelative must be finite");

  const { layerCount } = model.info;
  const gate = loadVectors(o.gate, model, "gate");
  warnIfGateOfAnotherModel(gate, model, "gate");
  const steer = o.steer !== undefined ? loadSteering(o.steer, model) : gate;
  const plain = isControlVector(steer) ? steer : null;
  if (plain && o.alphaRelative !== undefined) {
    throw new RangeError("guidance.alphaRelative needs the activation norms of an InferAligner vector file; a plain control vector steers with guidance.alpha (the stored vector x alpha, default 1)");
  }
  const gateLayers = o.gateLayers === undefined || o.gateLayers === "auto" ? [gate.suggested.gateLayer] : layerList(o.gateLayers, layerCount, "gateLayers");
  const thresholds = gateLayers.map((l) => (o.threshold !== undefined ? o.threshold : gate.layers[l]!.thresholds[score].budget));
  const gateDirections = gateLayers.map((l) => gate.directions[l]!);
  if (o.extraGates !== undefined && !Array.isArray(o.extraGates)) throw new TypeError("guidance.extraGates must be an array of vector files");
  for (const [i, source] of (o.extraGates ?? []).entries()) {
    const extra = loadVectors(source, model, `extraGates[${i}]`);
    warnIfGateOfAnotherModel(extra, model, `extraGates[${i}]`);
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
  if (o.layers === undefined && plain) {
    // As llama.cpp applies a control vector: every block it has a direction for.
    steerLayers = plain.layers;
  } else if (o.layers === undefined) {
    // Calibrated defaults (inferaligner calibrate --save) win over the extraction's suggestion.
    const [from, to] = (steer as VectorFile).defaults?.steerLayers ?? (steer as VectorFile).suggested.steerLayers;
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
    if (plain) {
      const direction = plain.directions[l];
      if (!direction) throw new RangeError(`guidance.layers: the control vector has no direction for block ${l} (it has ${plain.layers.join(", ")})`);
      const alpha = o.alpha ?? 1;
      return direction.map((x) => x * alpha);
    }
    const file = steer as VectorFile;
    const alpha = o.alpha ?? (o.alphaRelative ?? file.defaults?.alphaRelative ?? DEFAULT_ALPHA_RELATIVE) * file.layers[l]!.meanActivationNorm;
    return file.directions[l]!.map((x) => x * alpha);
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
